#!/usr/bin/env bash
# Measures the runtime image supervising a config-only workload, over N cycles (default 20):
#   start:   POST /api/start        -> the workload's exec (it writes the time it began)
#   stop:    POST /api/stop         -> the workload's process is gone (it respects SIGTERM)
#   restart: POST /api/start while running -> the new workload's exec
# Prints the medians in milliseconds. Usage: bench/supervision.sh [CYCLES]   (after ./mvnw package -DskipTests)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-20}
port=18081
work=$(mktemp -d)
cat >"$work/config.yaml" <<YAML
process_management:
  enabled: true
  command: [sh, -c, 'date +%s%N > \${marker}; exec sleep 100000']
YAML
CCC_PORT=$port CCC_HOST=127.0.0.1 LOG_LEVEL=WARNING jlink/target/ccc/bin/ccc --config "$work/config.yaml" >"$work/log" 2>&1 &
core=$!
trap 'kill -TERM $core 2>/dev/null; wait $core 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/api/health"; do sleep 0.01; done

now() { date +%s%N; }
post() { curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port$1"; }
await_file() { until [ -s "$1" ]; do sleep 0.0005; done; }
pid_of() { curl -fs "http://127.0.0.1:$port/api/status" | sed -E 's/.*"pid":([0-9]+).*/\1/'; }

starts=(); stops=(); restarts=()
for i in $(seq 1 "$cycles"); do
  t0=$(now); post /api/start "{\"marker\": \"$work/s$i\"}"; await_file "$work/s$i"
  starts+=($(( ($(cat "$work/s$i") - t0) / 1000 )))
  sleep 0.2
  t0=$(now); post /api/start "{\"marker\": \"$work/r$i\"}"; await_file "$work/r$i"
  restarts+=($(( ($(cat "$work/r$i") - t0) / 1000 )))
  sleep 0.2
  until pid=$(pid_of) && [ -n "$pid" ] && [ "$pid" -eq "$pid" ] 2>/dev/null; do sleep 0.01; done
  t0=$(now); post /api/stop '{}'; while [ -e "/proc/$pid" ]; do sleep 0.0005; done
  stops+=($(( ($(now) - t0) / 1000 )))
  sleep 0.2
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] / 1000}'; }
echo "median of $cycles cycles: start->exec $(median "${starts[@]}") ms, stop->end $(median "${stops[@]}") ms, restart->exec $(median "${restarts[@]}") ms"
