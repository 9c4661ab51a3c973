#!/usr/bin/env bash
# Requests per second and p99 latency of /api/health, /api/metrics and /metrics on the runtime
# image, under 32 concurrent connections (wrk), with a config-only workload running.
# Usage: bench/http.sh [SECONDS]   (after ./mvnw package -DskipTests; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
port=18082
work=$(mktemp -d)
cat >"$work/config.yaml" <<'YAML'
process_management:
  enabled: true
  command: [sleep, '100000']
YAML
CCC_PORT=$port CCC_HOST=127.0.0.1 LOG_LEVEL=WARNING jlink/target/ccc/bin/ccc --config "$work/config.yaml" >"$work/log" 2>&1 &
core=$!
trap 'kill -TERM $core 2>/dev/null; wait $core 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$port/api/health"; do sleep 0.01; done
curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$port/api/start"

printf '%-14s %12s %10s\n' path requests/s p99
for path in /api/health /api/metrics /metrics; do
  wrk -t2 -c32 -d3s "http://127.0.0.1:$port$path" >/dev/null   # warm-up
  out=$(wrk -t2 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$port$path")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  printf '%-14s %12s %10s %s\n' "$path" "$rps" "$p99" "$errors"
done
