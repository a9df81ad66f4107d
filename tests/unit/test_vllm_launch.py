"""The one vLLM command line that scripts/vllm.sh and the test fixture share."""

from __future__ import annotations

import pytest

from rag.adapters import vllm_launch
from rag.adapters.vllm_launch import STRUCTURED_OUTPUTS, server_command, server_env

pytestmark = pytest.mark.unit


def test_command_serves_on_loopback_with_unpadded_structured_outputs() -> None:
    cmd = server_command("/py", "/models/m", "m", 8123, ["--enable-prefix-caching"])
    assert cmd[:3] == ["/py", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert cmd[cmd.index("--structured-outputs-config") + 1] == STRUCTURED_OUTPUTS
    assert '"disable_any_whitespace":true' in STRUCTURED_OUTPUTS
    assert cmd[-1] == "--enable-prefix-caching"


def test_small_cpu_machines_bind_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_launch, "_has_gpu", lambda: False)
    monkeypatch.setattr(vllm_launch.os, "cpu_count", lambda: 2)
    env = server_env({})
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    # A setting the caller made wins; large machines keep vLLM's own binding.
    assert server_env({"VLLM_CPU_OMP_THREADS_BIND": "0"})["VLLM_CPU_OMP_THREADS_BIND"] == "0"
    monkeypatch.setattr(vllm_launch.os, "cpu_count", lambda: 16)
    assert "VLLM_CPU_OMP_THREADS_BIND" not in server_env({})
    monkeypatch.setattr(vllm_launch.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(vllm_launch, "_has_gpu", lambda: True)
    assert "VLLM_CPU_OMP_THREADS_BIND" not in server_env({})
