#!/usr/bin/env bash
# Start or stop the local vLLM OpenAI-compatible server (a separate process, as in production).
#   scripts/vllm.sh start   # provision the model, start on 127.0.0.1, wait for /health
#   scripts/vllm.sh stop
# Settings (environment): RADRAG_LLM_MODEL_PATH (packaged name, folder or hub id),
# RADRAG_VLLM_MODEL (served name), RADRAG_VLLM_PORT, RADRAG_HOME, VLLM_VENV,
# VLLM_CPU_KVCACHE_SPACE (GiB, CPU only), VLLM_CPU_OMP_THREADS_BIND (CPU only), VLLM_START_TIMEOUT
# (seconds), VLLM_EXTRA_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR=${RADRAG_HOME:-.radrag}
VENV=${VLLM_VENV:-.venv-vllm}
MODEL=${RADRAG_LLM_MODEL_PATH:-qwen2.5-coder-0.5b}
SERVED=${RADRAG_VLLM_MODEL:-$(basename "$MODEL")}
PORT=${RADRAG_VLLM_PORT:-8100}
PIDFILE=$HOME_DIR/vllm.pid
LOG=$HOME_DIR/vllm.log
TIMEOUT=${VLLM_START_TIMEOUT:-900}

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case ${1:-} in
start)
  mkdir -p "$HOME_DIR"
  if running; then echo "vLLM already running (pid $(cat "$PIDFILE"))"; exit 0; fi
  t0=$(date +%s)
  DIR=$(PYTHONPATH=. "$VENV/bin/python" -m rag.adapters.llm_assets ensure "$MODEL" --home "$HOME_DIR")
  t1=$(date +%s)
  echo "model ready in $((t1 - t0)) s: $DIR"
  # The command line and environment (thread binding, KV cache, structured outputs) are
  # rag/adapters/vllm_launch.py's, shared with the test fixture; it execs vLLM in place.
  # shellcheck disable=SC2086
  PYTHONPATH=. nohup "$VENV/bin/python" -m rag.adapters.vllm_launch \
    --model "$DIR" --served "$SERVED" --port "$PORT" -- ${VLLM_EXTRA_ARGS:-} >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  until curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; do
    if ! running; then echo "vLLM exited; last log lines:"; tail -20 "$LOG"; exit 1; fi
    if (($(date +%s) - t1 > TIMEOUT)); then echo "vLLM not healthy after $TIMEOUT s"; exit 1; fi
    sleep 2
  done
  echo "vLLM serving $SERVED on http://127.0.0.1:$PORT (started in $(($(date +%s) - t1)) s, log $LOG)"
  ;;
stop)
  if running; then
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "vLLM stopped (pid $pid)"
  else
    echo "vLLM not running"
  fi
  rm -f "$PIDFILE"
  ;;
*)
  echo "usage: $0 start|stop" >&2; exit 2
  ;;
esac
