#!/usr/bin/env bash
# Time from `make run` (warm cache: venvs, KB and converted model already there) to the
# first drafted-or-abstained report answered by POST /v1/reports. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${BENCH_API_PORT:-8765}
LOG=${RADRAG_HOME:-.radrag}/time_to_first_report.log
scripts/vllm.sh stop >/dev/null
t0=$(date +%s.%N)
# Own process group, so the API and the vLLM server it started can be stopped together.
RADRAG_PORT=$PORT setsid make run >"$LOG" 2>&1 &
group=$!
trap 'kill -- -$group 2>/dev/null || true; scripts/vllm.sh stop >/dev/null' EXIT
body='{"labels": {"cardiomegaly": "present", "pleural_effusion": "absent"}}'
KEYFILE=${RADRAG_HOME:-.radrag}/dev_api_key  # written by `make run` (radrag keys ensure-dev)
until [[ -s $KEYFILE ]] && status=$(curl -sf -H 'content-type: application/json' \
    -H "Authorization: Bearer $(cat "$KEYFILE")" -d "$body" \
    "http://127.0.0.1:$PORT/v1/reports" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null); do
  kill -0 "$group" 2>/dev/null || { echo "make run exited; see $LOG"; exit 1; }
  sleep 1
done
printf '{"time_to_first_report_s": %.1f, "status": "%s"}\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$status"
