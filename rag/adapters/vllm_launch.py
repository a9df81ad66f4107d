"""How a vLLM OpenAI-compatible server is started: one command line for every launcher.

`scripts/vllm.sh` (make vllm / make run), the test fixture and the benches start the
server through `server_command` and `server_env`, so the flags that matter (structured
outputs without whitespace padding, CPU thread binding on small machines, the KV cache
size) are set in one place. Runs in either virtual environment: standard library only.

  python -m rag.adapters.vllm_launch --model DIR --served NAME --port P [-- EXTRA...]
execs the server in place (the shell script's nohup and pid file then track vLLM itself).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

# Without disable_any_whitespace a small model pads the JSON with whitespace until
# max_tokens (measured on Qwen2.5-Coder-0.5B).
STRUCTURED_OUTPUTS = '{"backend":"xgrammar","disable_any_whitespace":true}'


def server_command(
    python: str, model_dir: str, served: str, port: int, extra: Sequence[str] = ()
) -> list[str]:
    """The vLLM server's argv (loopback only, bf16, 4k context, xgrammar without padding)."""
    return [
        python, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model_dir, "--served-model-name", served,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "bfloat16", "--max-model-len", "4096",
        "--structured-outputs-config", STRUCTURED_OUTPUTS,
        *extra,
    ]  # fmt: skip


def _has_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def server_env(base: Mapping[str, str], kv_cache_gib: str = "2") -> dict[str, str]:
    """The server's environment: offline, a CPU KV cache, and thread binding on small CPUs.

    On CPU, vLLM's 'auto' thread binding reserves one core for the API process: on a
    2-core machine that halves the compute (16 IU eval cases: 192 s with 'auto', 143 s
    bound to both cores), so machines with at most 4 cores bind every core.
    """
    env = dict(base)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", kv_cache_gib)
    cores = os.cpu_count() or 1
    if "VLLM_CPU_OMP_THREADS_BIND" not in env and cores <= 4 and not _has_gpu():
        env["VLLM_CPU_OMP_THREADS_BIND"] = f"0-{cores - 1}"
    return env


def main(argv: Sequence[str] | None = None) -> None:
    """Exec the server with the shared command line and environment."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--served", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("extra", nargs="*", help="further vLLM flags (after --)")
    args = ap.parse_args(argv)
    cmd = server_command(sys.executable, args.model, args.served, args.port, args.extra)
    os.execvpe(cmd[0], cmd, server_env(os.environ))


if __name__ == "__main__":
    main()
