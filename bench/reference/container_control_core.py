"""The seed's Container Control Core, written minimally on the seed's own stack (FastAPI,
uvicorn, psutil, ruamel.yaml), for side-by-side benchmarks only. It follows compat.md's
description of the Python core, defects included (a restart sleeps for a fixed second; metrics
are host-wide; /metrics is hand-written text). It supports process_management workloads only."""
import asyncio
import os
import shlex
import subprocess
import threading
import time
from datetime import datetime, timezone

import psutil
from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from ruamel.yaml import YAML

CONFIG = YAML(typ="safe").load(open(os.environ.get("CCC_CONFIG_FILE", "config.yaml")))
COMMAND = CONFIG["process_management"]["command"]

app = FastAPI()
state = {"app_status": "initializing", "proc": None}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fill(payload):
    # As the Python core: join the template, substitute, split again.
    text = " ".join(COMMAND)
    for key, value in payload.items():
        text = text.replace("${" + key + "}", str(value))
    return shlex.split(text)


def stop_process():
    proc = state["proc"]
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    state["proc"] = None


def start_process(payload):
    state["proc"] = subprocess.Popen(fill(payload), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state["app_status"] = "running"


@app.get("/api/health")
def health():
    return {"status": "healthy", "app_status": state["app_status"]}


@app.post("/api/start")
async def start(payload: dict = Body(...)):
    if state["proc"] and state["proc"].poll() is None:
        stop_process()
        time.sleep(1)
    state["app_status"] = "initializing"
    asyncio.get_running_loop().run_in_executor(None, start_process, payload)
    return {"message": "start initiated"}


@app.post("/api/stop")
def stop():
    if not state["proc"] or state["proc"].poll() is not None:
        return {"message": "nothing to stop"}

    def run():
        stop_process()
        state["app_status"] = "stopped"

    threading.Thread(target=run).start()
    return {"message": "stop initiated"}


@app.post("/api/update")
def update(payload: dict = Body(...)):
    if not state["proc"] or state["proc"].poll() is not None:
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
def metrics():
    network = psutil.net_io_counters()
    body = {
        "timestamp": now(), "app_status": state["app_status"], "container_status": "running",
        "system": system(),
        "network": {"bytes_sent": network.bytes_sent, "bytes_recv": network.bytes_recv,
                    "packets_sent": network.packets_sent, "packets_recv": network.packets_recv},
        "metrics": {}, "adapter_metrics": {},
    }
    proc = state["proc"]
    if proc and proc.poll() is None:
        p = psutil.Process(proc.pid)
        body["process"] = {"pid": proc.pid, "cpu_percent": p.cpu_percent(), "memory_mb": round(p.memory_info().rss / 1048576, 2),
                           "threads": p.num_threads(), "status": p.status()}
    return body


@app.get("/metrics", response_class=PlainTextResponse)
def prometheus():
    figures = system()
    network = psutil.net_io_counters()
    return "\n".join([
        f"container_cpu_percent {figures['cpu_percent']}",
        f"container_memory_percent {figures['memory_percent']}",
        f"container_memory_used_bytes {psutil.virtual_memory().used}",
        f"container_network_bytes_sent_total {network.bytes_sent}",
        f"container_network_bytes_recv_total {network.bytes_recv}",
    ]) + "\n"
