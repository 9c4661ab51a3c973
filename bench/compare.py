#!/usr/bin/env python3
"""Measures this project's runtime image beside a stand-in of the Python core it replaces
(bench/reference: v1.1's shape on its own stack, FastAPI + uvicorn + psutil, served with
`python -m uvicorn` as the seed's Dockerfile does) and a bare JDK HttpServer as the floor, in one
run on one machine, with the same config-only workloads on loopback after the same warm-up.

Each run prints one table: every figure for both, their ratio, the target and whether it is met.
With --runs N it runs N times in a row and then prints each figure's spread over the runs (every
run, not the best). The load average before and after each run is printed with it.

Figures, per core:
  launch to the first 200 from /api/health (median of 5 launches);
  RSS of the core's own process, idle with a `sleep` workload running, and again after the
  throughput runs;
  requests/s and p99 of /api/health, /api/metrics and /metrics (wrk, 2 threads, 32 connections);
  start -> running, restart -> running and stop -> stopped (medians of --cycles cycles), for a
  `sleep` workload and for `sh -c "sleep N"` (a shell in front: a two-process tree), with the
  processes each core leaves behind after the shell cycles.

Usage: bench/compare.py [--runs N] [--seconds N] [--cycles N] [--json PATH] [--reference-restart-sleep]
(after ./mvnw package -DskipTests; needs wrk and Debian's python3-fastapi, python3-uvicorn,
python3-psutil, python3-ruamel.yaml)
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
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = os.path.join(ROOT, "jlink", "target", "ccc")
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
SYSTEM_PYTHON = "/usr/bin/python3"
LAUNCHES = 5
# Distinct workload arguments, so that each cycle's new workload and any leftovers can be told apart in /proc.
SLEEP_START, SLEEP_RESTART = "100000", "100001"
SHELL_START, SHELL_RESTART = "987650", "987651"

SLEEP_CONFIG = """process_management:
  enabled: true
  command: [sleep, '${seconds}']
metrics:
  network_monitoring: {enabled: true}
"""
SHELL_CONFIG = """process_management:
  enabled: true
  command: [sh, -c, 'sleep ${seconds}']
metrics:
  network_monitoring: {enabled: true}
"""


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


def processes():
    """Every process: pid -> (parent pid, argv)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")[:-1]
                table[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), [a.decode(errors="replace") for a in argv])
            except (OSError, ValueError):
                pass
    return table


def tree_of(pid, table):
    tree, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        for child, (parent, _) in table.items():
            if parent == current and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def workloads_with(argument):
    """Pids of the `sleep ARGUMENT` processes on the machine."""
    return [pid for pid, (_, argv) in processes().items() if argv[:1] == ["sleep"] and argv[1:] == [argument]]


def launched_with(argument):
    """Pids of the processes whose last argument names `argument` (`sleep N`, `sh -c 'sleep N'`, and
    `ccc-exec ... -- sleep N` before it has exec'd the workload)."""
    return [pid for pid, (_, argv) in processes().items() if argv and argv[-1].split()[-1:] == [argument]]


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

    def launch(self, config):
        self.port = free_port()
        env = dict(os.environ, **self.env, CCC_PORT=str(self.port), CCC_HOST="127.0.0.1", CCC_CONFIG_FILE=config)
        command = [part.replace("{port}", str(self.port)).replace("{config}", config) for part in self.command]
        started = time.monotonic()
        self.process = subprocess.Popen(command, env=env, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        await_health(self.port, self.process)
        return (time.monotonic() - started) * 1000

    def end(self):
        if self.process and self.process.poll() is None:
            # The whole group: the reference's orphaned grandchildren keep its process group.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def app_status(self):
        return json.loads(request(self.port, "GET", "/api/health")[1])["app_status"]

    def await_status(self, wanted):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.app_status() == wanted:
                return
            time.sleep(0.001)
        raise RuntimeError(f"{self.name}: app_status never {wanted}")


def cycles(target, count, first, second):
    """Start, restart and stop, `count` times; the medians in ms. Both cores answer `initializing`
    from the moment /api/start has answered until the new workload runs, so the first `running`
    after it is the new workload's (checked after each restart, outside the timing)."""
    starts, restarts, stops = [], [], []
    for _ in range(count):
        began = time.monotonic()
        request(target.port, "POST", "/api/start", {"seconds": first})
        target.await_status("running")
        starts.append((time.monotonic() - began) * 1000)
        began = time.monotonic()
        request(target.port, "POST", "/api/start", {"seconds": second})
        target.await_status("running")
        restarts.append((time.monotonic() - began) * 1000)
        # A process in the middle of an exec shows no command line for a moment: look again for up to a second.
        checked_until = time.monotonic() + 1
        while not any(pid in tree_of(target.process.pid, processes()) for pid in launched_with(second)):
            if time.monotonic() > checked_until:
                raise RuntimeError(f"{target.name}: running after a restart, but no `sleep {second}` in its tree")
            time.sleep(0.01)
        began = time.monotonic()
        request(target.port, "POST", "/api/stop")
        target.await_status("stopped")
        stops.append((time.monotonic() - began) * 1000)
    return statistics.median(starts), statistics.median(restarts), statistics.median(stops)


def measure(target, work, seconds, count):
    sleep_config, shell_config = os.path.join(work, "sleep.yaml"), os.path.join(work, "shell.yaml")
    launches = []
    for _ in range(LAUNCHES):
        launches.append(target.launch(sleep_config))
        target.end()
    figures = {"launch_to_healthy_ms": statistics.median(launches)}
    target.launch(sleep_config)
    try:
        request(target.port, "POST", "/api/start", {"seconds": SLEEP_START})
        target.await_status("running")
        for path in ("/api/health", "/api/metrics", "/metrics"):
            for _ in range(200):
                request(target.port, "GET", path)
        time.sleep(2)
        figures["idle_rss_mib"] = rss_mib(target.process.pid)
        for path in ("/api/health", "/api/metrics", "/metrics"):
            rps, p99, errors = wrk(target.port, path, seconds)
            figures[f"{path} requests/s"] = rps
            figures[f"{path} p99 ms"] = p99
            if errors:
                figures[f"{path} non-2xx"] = errors
        figures["rss_after_load_mib"] = rss_mib(target.process.pid)
        request(target.port, "POST", "/api/stop")
        target.await_status("stopped")
        figures["start_to_running_ms"], figures["restart_to_running_ms"], figures["stop_to_stopped_ms"] = \
            cycles(target, count, SLEEP_START, SLEEP_RESTART)
    finally:
        target.end()
    target.launch(shell_config)
    try:
        figures["sh start_to_running_ms"], figures["sh restart_to_running_ms"], figures["sh stop_to_stopped_ms"] = \
            cycles(target, count, SHELL_START, SHELL_RESTART)
        figures["sh leftover processes"] = len(workloads_with(SHELL_START)) + len(workloads_with(SHELL_RESTART))
    finally:
        target.end()
    return figures


# (label, figure, which target, threshold); "ratio<=": ccc/reference at most; "ratio>=": at least.
ROWS = [
    ("launch -> first 200 /api/health ms", "launch_to_healthy_ms", "ratio<=", 0.5),
    ("RSS of the core, idle, MiB", "idle_rss_mib", "ratio<=", 1.4),
    ("RSS of the core after load, MiB", "rss_after_load_mib", "ratio<=", 2.0),
    ("/api/health requests/s", "/api/health requests/s", "ratio>=", 3.0),
    ("/api/health p99 ms", "/api/health p99 ms", None, None),
    ("/api/metrics requests/s", "/api/metrics requests/s", "ratio>=", 5.0),
    ("/api/metrics p99 ms", "/api/metrics p99 ms", None, None),
    ("/metrics requests/s", "/metrics requests/s", None, None),
    ("/metrics p99 ms", "/metrics p99 ms", None, None),
    ("start -> running ms (sleep)", "start_to_running_ms", "ratio<=", 1.0),
    ("restart -> running ms (sleep)", "restart_to_running_ms", "ratio<=", 1.0),
    ("stop -> stopped ms (sleep)", "stop_to_stopped_ms", "ratio<=", 1.0),
    ("start -> running ms (sh -c)", "sh start_to_running_ms", "ratio<=", 1.0),
    ("restart -> running ms (sh -c)", "sh restart_to_running_ms", "ratio<=", 1.0),
    ("stop -> stopped ms (sh -c)", "sh stop_to_stopped_ms", "ratio<=", 1.0),
    ("processes left after sh cycles", "sh leftover processes", None, None),
]


def table(result):
    """The rows of one run: (label, ccc, other, other's name, ratio, target text, met or None)."""
    ours, reference, floor = result["ours"], result["reference"], result["floor"]
    rows = []
    for label, key, kind, threshold in ROWS:
        a, b = ours.get(key), reference.get(key)
        ratio = a / b if a is not None and b else float("nan")
        target, met = "", None
        if kind == "ratio<=":
            target, met = f"<= {threshold}", ratio <= threshold
        elif kind == "ratio>=":
            target, met = f">= {threshold}", ratio >= threshold
        rows.append((label, a, b, "ref", ratio, target, met))
    health = ours["/api/health requests/s"]
    rows.append(("/api/health vs bare JDK floor", health, floor["/api/health requests/s"], "floor",
                 health / floor["/api/health requests/s"], ">= 0.8", health / floor["/api/health requests/s"] >= 0.8))
    rows.append(("ccc /metrics vs its /api/health rps", ours["/metrics requests/s"], health, "health",
                 ours["/metrics requests/s"] / health, ">= 0.8", ours["/metrics requests/s"] / health >= 0.8))
    p99 = ours["/metrics p99 ms"] / ours["/api/health p99 ms"]
    rows.append(("ccc /metrics p99 vs its /api/health", ours["/metrics p99 ms"], ours["/api/health p99 ms"], "health",
                 p99, "<= 2.0", p99 <= 2.0))
    return rows


def fmt(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.1f}"


def print_table(number, result):
    print(f"\nrun {number}: load average {result['load_before'][0]:.2f} before, {result['load_after'][0]:.2f} after"
          f" ({result['load_after'][1]:.2f} over 5 min)")
    print(f"{'figure':38} {'ccc':>10} {'other':>10}      {'ratio':>7} {'target':>8}  met")
    for label, a, b, other, ratio, target, met in table(result):
        verdict = "" if met is None else ("yes" if met else "NO")
        print(f"{label:38} {fmt(a):>10} {fmt(b):>10} {other:>5} {ratio:7.2f} {target:>8}  {verdict}")
    errors = {name: {k: v for k, v in figures.items() if k.endswith("non-2xx")} for name, figures in result.items()
              if isinstance(figures, dict)}
    for name, found in errors.items():
        if found:
            print(f"  {name}: {found}")


def print_spread(results):
    print(f"\nspread over {len(results)} runs (min / median / max)")
    print(f"{'figure':38} {'ccc':>24} {'other':>24} {'ratio':>20}  met")
    tables = [table(result) for result in results]
    for index, row in enumerate(tables[0]):
        column = [t[index] for t in tables]

        def spread(values):
            values = [v for v in values if v is not None]
            return " / ".join(fmt(v) for v in (min(values), statistics.median(values), max(values))) if values else "-"

        ratios = [r[4] for r in column]
        met = [r[6] for r in column if r[6] is not None]
        verdict = f"{sum(met)} of {len(met)}" if met else ""
        print(f"{row[0]:38} {spread([r[1] for r in column]):>24} {spread([r[2] for r in column]):>24} "
              f"{' / '.join(f'{r:.2f}' for r in (min(ratios), statistics.median(ratios), max(ratios))):>20}  {verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run")
    parser.add_argument("--cycles", type=int, default=20, help="start/restart/stop cycles per workload")
    parser.add_argument("--json", help="append every run's figures to this file, one JSON object a line")
    parser.add_argument("--reference-restart-sleep", action="store_true",
                        help="the reference sleeps a second before a restart, as v2.0 does (v1.1 does not)")
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    with open(os.path.join(work, "sleep.yaml"), "w") as f:
        f.write(SLEEP_CONFIG)
    with open(os.path.join(work, "shell.yaml"), "w") as f:
        f.write(SHELL_CONFIG)
    ours = Target("ccc", [os.path.join(IMAGE, "bin", "ccc"), "--config", "{config}"], {"LOG_LEVEL": "WARNING"}, work)
    reference = Target("reference", [SYSTEM_PYTHON, "-m", "uvicorn", "container_control_core:app", "--host", "127.0.0.1",
                                     "--port", "{port}", "--log-level", "warning"],
                       {"CCC_REFERENCE_RESTART_SLEEP": "1" if args.reference_restart_sleep else "0"},
                       os.path.join(ROOT, "bench", "reference"))
    floor_classes = os.path.join(work, "floor")
    subprocess.run([os.path.join(JAVA_HOME, "bin", "javac"), "-d", floor_classes, os.path.join(ROOT, "bench", "floor", "Floor.java")],
                   check=True)
    floor = Target("floor", [os.path.join(IMAGE, "bin", "java"), "-cp", floor_classes, "Floor", "{port}"], {}, work)
    # An image just built has its files' pages dirty in the page cache for up to half a minute, and the
    # core's page-out of start-up's pages cannot give dirty pages back: written back first, as a deployed
    # image's are (about 5 MiB of idle memory otherwise).
    os.sync()

    results = []
    for number in range(1, args.runs + 1):
        result = {"load_before": os.getloadavg()}
        result["ours"] = measure(ours, work, args.seconds, args.cycles)
        result["reference"] = measure(reference, work, args.seconds, args.cycles)
        floor.launch(os.path.join(work, "sleep.yaml"))
        try:
            result["floor"] = {"/api/health requests/s": wrk(floor.port, "/api/health", args.seconds)[0]}
        finally:
            floor.end()
        result["load_after"] = os.getloadavg()
        result["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results.append(result)
        print_table(number, result)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    if len(results) > 1:
        print_spread(results)


if __name__ == "__main__":
    sys.exit(main())
