#!/usr/bin/env python3
"""Measures this project's runtime image beside a reference implementation of the seed's stack
(bench/reference: FastAPI + uvicorn + psutil, served with `python -m uvicorn` as the seed's
Dockerfile does), in one run on one machine, with the same config-only workload (sleep), on
loopback, after the same warm-up; and a bare JDK HttpServer as the floor. Prints a table and
JSON with both figures and their ratio.

Usage: bench/compare.py [--seconds N] [--cycles N]   (after ./mvnw package -DskipTests;
needs wrk, curl and Debian's python3-fastapi, python3-uvicorn, python3-psutil, python3-ruamel.yaml)
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.path.join(ROOT, "jlink", "target", "ccc")
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
SYSTEM_PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def await_health(port, process, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            if request(port, "GET", "/api/health", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError("never healthy")


def tree_rss_kib(pid):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except OSError:
                pass
    tree, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for member in tree:
        try:
            with open(f"/proc/{member}/status") as f:
                total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            pass
    return total


def wrk(port, path, seconds):
    subprocess.run(["wrk", "-t2", "-c32", "-d2s", f"http://127.0.0.1:{port}{path}"], capture_output=True)  # warm-up
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99_ms, int(non2xx.group(1)) if non2xx else 0


class Target:
    def __init__(self, name, command, env, cwd):
        self.name, self.command, self.env, self.cwd = name, command, env, cwd
        self.process = None
        self.port = None

    def launch(self):
        self.port = free_port()
        env = dict(os.environ, **self.env, CCC_PORT=str(self.port), CCC_HOST="127.0.0.1")
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        started = time.monotonic()
        self.process = subprocess.Popen(command, env=env, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        await_health(self.port, self.process)
        return (time.monotonic() - started) * 1000

    def end(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def app_status(self):
        return json.loads(request(self.port, "GET", "/api/health")[1])["app_status"]

    def await_status(self, wanted):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.app_status() == wanted:
                return
            time.sleep(0.001)
        raise RuntimeError(f"{self.name}: app_status never {wanted}")


def cycles(target, count):
    starts, restarts, stops = [], [], []
    for _ in range(count):
        began = time.monotonic()
        request(target.port, "POST", "/api/start", {"seconds": "100000"})
        target.await_status("running")
        starts.append((time.monotonic() - began) * 1000)
        began = time.monotonic()
        request(target.port, "POST", "/api/start", {"seconds": "100001"})
        while target.app_status() == "running" and time.monotonic() - began < 0.05:
            time.sleep(0.001)
        target.await_status("running")
        restarts.append((time.monotonic() - began) * 1000)
        began = time.monotonic()
        request(target.port, "POST", "/api/stop")
        target.await_status("stopped")
        stops.append((time.monotonic() - began) * 1000)
    return statistics.median(starts), statistics.median(restarts), statistics.median(stops)


def measure(target, seconds, count):
    launches = []
    for _ in range(5):
        launches.append(target.launch())
        target.end()
    figures = {"launch_to_healthy_ms": statistics.median(launches)}
    target.launch()
    try:
        request(target.port, "POST", "/api/start", {"seconds": "100000"})
        target.await_status("running")
        for path in ("/api/health", "/api/metrics", "/metrics"):
            for _ in range(200):
                request(target.port, "GET", path)
        time.sleep(2)
        figures["idle_rss_mib"] = tree_rss_kib(target.process.pid) / 1024
        for path in ("/api/health", "/api/metrics", "/metrics"):
            rps, p99, errors = wrk(target.port, path, seconds)
            figures[f"{path} requests/s"] = rps
            figures[f"{path} p99 ms"] = p99
            if errors:
                figures[f"{path} non-2xx"] = errors
        figures["rss_after_load_mib"] = tree_rss_kib(target.process.pid) / 1024
        request(target.port, "POST", "/api/stop")
        target.await_status("stopped")
        figures["start_to_running_ms"], figures["restart_to_running_ms"], figures["stop_to_stopped_ms"] = cycles(target, count)
    finally:
        target.end()
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write("process_management:\n  enabled: true\n  command: [sleep, '${seconds}']\nmetrics:\n  network_monitoring: {enabled: true}\n")
    ours = Target("ccc (Java)", [os.path.join(IMAGE, "bin", "ccc"), "--config", config], {"LOG_LEVEL": "WARNING"}, work)
    reference = Target("reference (Python)", [SYSTEM_PYTHON, "-m", "uvicorn", "container_control_core:app", "--host", "127.0.0.1",
                                              "--port", "{port}", "--log-level", "warning"],
                       {"CCC_CONFIG_FILE": config}, os.path.join(ROOT, "bench", "reference"))
    floor_classes = os.path.join(work, "floor")
    subprocess.run([os.path.join(JAVA_HOME, "bin", "javac"), "-d", floor_classes, os.path.join(ROOT, "bench", "floor", "Floor.java")], check=True)
    floor = Target("floor", [os.path.join(IMAGE, "bin", "java"), "-cp", floor_classes, "Floor", "{port}"], {}, work)

    results = {"ours": measure(ours, args.seconds, args.cycles), "reference": measure(reference, args.seconds, args.cycles)}
    floor.launch()
    try:
        results["floor"] = {"/api/health requests/s": wrk(floor.port, "/api/health", args.seconds)[0]}
    finally:
        floor.end()

    rows = []
    for key in results["ours"]:
        if key in results["reference"]:
            a, b = results["ours"][key], results["reference"][key]
            rows.append((key, a, b, a / b if b else float("nan")))
    print(f"{'figure':28} {'ccc (Java)':>12} {'reference':>12} {'ratio':>8}")
    for key, a, b, ratio in rows:
        print(f"{key:28} {a:12.1f} {b:12.1f} {ratio:8.2f}")
    floor_ratio = results["ours"]["/api/health requests/s"] / results["floor"]["/api/health requests/s"]
    print(f"{'/api/health vs JDK floor':28} {results['ours']['/api/health requests/s']:12.1f} {results['floor']['/api/health requests/s']:12.1f} {floor_ratio:8.2f}")
    results["ratios"] = {key: ratio for key, _, _, ratio in rows}
    results["ratios"]["/api/health requests/s vs floor"] = floor_ratio
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
