"""A stand-in for the seed's Container Control Core v1.1, for side-by-side benchmarks only, on the
seed's own stack (FastAPI, uvicorn without extras, so asyncio and h11 as `pip install uvicorn`
gives, psutil, ruamel.yaml) and in the original's shape:

- every endpoint is an `async def`, so FastAPI runs it on the event loop (a plain `def` would go
  to its thread pool and answer at about half the rate);
- the workload is run by a Popen adapter, as the seed's README shows one: `start` is
  `Popen(ensure_user(cmd))`, `stop` is `terminate()` then `wait()`;
- a start answers at once and starts the workload in the background; a restart stops the running
  workload inside the request and starts the new one, with no sleep (v1.1). With
  CCC_REFERENCE_RESTART_SLEEP=1 it sleeps a second inside the request first, as v2.0 does;
- figures come from psutil (host-wide, as the original's); /metrics is hand-written text.

Defects are kept where they do not change the cost being measured (docs/compatibility.md lists them): no
synchronisation, a workload that exits on its own stays `running`, only the direct child is
signalled. It supports `process_management.command` workloads only; `${key}` placeholders are
filled one argument each.
"""
import asyncio
import os
import subprocess
import time
from datetime import datetime

import psutil
from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from ruamel.yaml import YAML

CONFIG = YAML(typ="safe").load(open(os.environ.get("CCC_CONFIG_FILE", "config.yaml")))
RESTART_SLEEP = os.environ.get("CCC_REFERENCE_RESTART_SLEEP", "0") == "1"
PRIMARY_KEY = (CONFIG.get("adapter") or {}).get("primary_payload_key")
PROCESS_MONITORING = ((CONFIG.get("metrics") or {}).get("process_monitoring") or {}).get("enabled", False)


class PopenAdapter:
    """The seed README's adapter: one subprocess, started and stopped with Popen."""

    def __init__(self, command):
        self.command = command
        self.proc = None

    def start(self, payload, *, ensure_user):
        cmd = list(self.command)
        for key, value in payload.items():
            cmd = [argument.replace("${" + key + "}", str(value)) for argument in cmd]
        self.proc = subprocess.Popen(ensure_user(cmd))
        return self.proc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def get_metrics(self):
        return {"running": self.running()}

    def prometheus_metrics(self):
        return []


adapter = PopenAdapter(CONFIG["process_management"]["command"])
app = FastAPI()
state = {"app_status": "initializing"}


def ensure_user(cmd):
    user = (CONFIG.get("adapter") or {}).get("run_as_user")
    if user and os.geteuid() == 0:
        return ["sudo", "-E", "-u", user] + cmd
    return cmd


def now():
    # As the original: the fraction is dropped when the microseconds are 0 (a defect kept; it costs nothing).
    return datetime.utcnow().isoformat() + "Z"


def start_in_background(payload):
    try:
        adapter.start(payload, ensure_user=ensure_user)
        state["app_status"] = "running"
    except Exception:
        state["app_status"] = "error"


def stop_in_background():
    adapter.stop()
    state["app_status"] = "stopped"


@app.get("/api/health")
async def health():
    return {"status": "healthy", "app_status": state["app_status"]}


@app.post("/api/start")
async def start(payload: dict = Body(...)):
    if PRIMARY_KEY and PRIMARY_KEY not in payload:
        raise HTTPException(status_code=400, detail=f"Missing primary payload key '{PRIMARY_KEY}'")
    if adapter.running():
        adapter.stop()
        if RESTART_SLEEP:
            time.sleep(1)
    state["app_status"] = "initializing"
    asyncio.get_running_loop().run_in_executor(None, start_in_background, payload)
    return {"message": "start initiated"}


@app.post("/api/stop")
async def stop(payload: dict = Body(None)):
    if not adapter.running():
        return {"message": "nothing to stop"}
    asyncio.get_running_loop().run_in_executor(None, stop_in_background)
    return {"message": "stop initiated"}


@app.post("/api/update")
async def update(payload: dict = Body(...)):
    if not adapter.running():
        raise HTTPException(status_code=400, detail="application not running")
    raise HTTPException(status_code=409, detail="live-update not supported")


def system():
    memory = psutil.virtual_memory()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": round(memory.percent, 1),
        "memory_available_mb": round(memory.available / 1048576, 2),
        "memory_used_mb": round(memory.used / 1048576, 2),
    }


@app.get("/api/metrics")
async def metrics():
    network = psutil.net_io_counters()
    adapter_metrics = adapter.get_metrics()
    body = {
        "timestamp": now(), "app_status": state["app_status"], "container_status": "running",
        "system": system(),
        "network": {"bytes_sent": network.bytes_sent, "bytes_recv": network.bytes_recv,
                    "packets_sent": network.packets_sent, "packets_recv": network.packets_recv},
        "metrics": adapter_metrics, "adapter_metrics": adapter_metrics,
    }
    if PROCESS_MONITORING and adapter.running():
        p = psutil.Process(adapter.proc.pid)
        body["process"] = {"pid": p.pid, "cpu_percent": p.cpu_percent(), "memory_mb": round(p.memory_info().rss / 1048576, 2),
                           "threads": p.num_threads(), "status": p.status()}
    return body


@app.get("/metrics", response_class=PlainTextResponse)
async def prometheus():
    figures = system()
    network = psutil.net_io_counters()
    return "\n".join([
        f"container_cpu_percent {figures['cpu_percent']}",
        f"container_memory_percent {figures['memory_percent']}",
        f"container_memory_used_bytes {psutil.virtual_memory().used}",
        f"container_network_bytes_sent_total {network.bytes_sent}",
        f"container_network_bytes_recv_total {network.bytes_recv}",
    ] + adapter.prometheus_metrics()) + "\n"
