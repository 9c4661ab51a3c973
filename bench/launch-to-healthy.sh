#!/usr/bin/env bash
# Measures the runtime image: milliseconds from launch to the first 200 from /api/health, and
# resident memory (VmRSS) of the idle core two seconds later. Prints each run and the medians.
# Usage: bench/launch-to-healthy.sh [RUNS]   (after ./mvnw package -DskipTests)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
image=jlink/target/ccc
port=18080
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

millis=()
rss=()
for run in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  CCC_PORT=$port CCC_HOST=127.0.0.1 "$image/bin/ccc" --config modules/ccc.adapter.example/config.yaml >"$work/log" 2>&1 &
  pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$port/api/health"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.002
  done
  end=$(date +%s%N)
  millis+=($(( (end - start) / 1000000 )))
  sleep 2
  rss+=($(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"))
  kill -TERM "$pid"; wait "$pid" || true
  echo "run $run: launch to healthy ${millis[-1]} ms, idle RSS $(( ${rss[-1]} / 1024 )) MiB"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median of $runs: launch to healthy $(median "${millis[@]}") ms, idle RSS $(( $(median "${rss[@]}") / 1024 )) MiB"
