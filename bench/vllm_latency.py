"""Where a guarded draft's time goes on the vLLM server, side by side with unconstrained decoding.

For each label set, the same chat-completions body is sent several ways, every one with a
fresh `cache_salt` so that no request reuses another's cached prompt (except the last):

- prefill: unconstrained, max_tokens=1 (reading the prompt);
- guarded_cold: the schema's first use (grammar compiled on the server);
- guarded: the same schema again (grammar cached);
- unconstrained: no schema, `ignore_eos` and max_tokens = the guarded completion's length,
  so both sides decode the same number of tokens after the same prompt;
- guarded_shared_prefix: no salt, as in production, where the fixed instructions of the
  prompt are in vLLM's prefix cache from earlier requests.

Grammar compilation is read as guarded_cold - guarded (its share of guarded_cold).
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import httpx


def _timed(client: httpx.Client, body: dict[str, Any]) -> tuple[float, dict[str, int]]:
    t = time.perf_counter()
    r = client.post("/v1/chat/completions", json=body)
    wall = time.perf_counter() - t
    r.raise_for_status()
    return wall, r.json()["usage"]


def _salted(body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**body, **extra, "cache_salt": uuid.uuid4().hex}


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "structured_outputs"}


def measure_one(client: httpx.Client, body: dict[str, Any], cold: bool = True) -> dict[str, Any]:
    """Timings (s) and token counts of one guarded body, measured one request at a time.

    cold=False skips the first-use request (on a loaded server, grammar compilation is
    better read in-process with bench/grammar_compile.py); its figures then read None.
    """
    first = _timed(client, _salted(body))[0] if cold else None
    warm, usage = _timed(client, _salted(body))
    n = usage["completion_tokens"]
    prefill, _ = _timed(client, _salted(_plain(body), max_tokens=1))
    free, free_usage = _timed(client, _salted(_plain(body), max_tokens=n, ignore_eos=True))
    shared, _ = _timed(client, body)
    return {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": n,
        "unconstrained_tokens": free_usage["completion_tokens"],
        "prefill_s": prefill,
        "guarded_cold_s": first,
        "guarded_s": warm,
        "unconstrained_s": free,
        "guarded_shared_prefix_s": shared,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over label sets, the guarded/unconstrained ratio and the compile share."""
    med = {
        k: round(statistics.median(r[k] for r in rows), 3)
        for k in rows[0]
        if rows[0][k] is not None
    }
    if rows[0]["guarded_cold_s"] is not None:
        compile_s = [max(0.0, r["guarded_cold_s"] - r["guarded_s"]) for r in rows]
        med["grammar_compile_s"] = round(statistics.median(compile_s), 3)
        med["grammar_compile_share_of_cold"] = round(
            sum(compile_s) / sum(r["guarded_cold_s"] for r in rows), 3
        )
    med["prefill_share_of_guarded"] = round(
        sum(r["prefill_s"] for r in rows) / sum(r["guarded_s"] for r in rows), 3
    )
    med["guarded_over_unconstrained"] = round(
        sum(r["guarded_s"] for r in rows) / sum(r["unconstrained_s"] for r in rows), 3
    )
    med["guarded_ms_per_token"] = round(
        1000
        * sum(r["guarded_s"] - r["prefill_s"] for r in rows)
        / sum(r["completion_tokens"] for r in rows),
        1,
    )
    med["cases"] = len(rows)
    return med
