"""Guard benchmark: verifier throughput and its share of drafting time. Run with `make
bench`; every figure is measured here (evaluation cases/s: bench/bench_eval.py).

The verifier is both readers (rule labeler + the independent medspaCy check), caches
cleared before each timing. Its share of a guarded vLLM draft (target <= 5%) is measured
when a vLLM server answers at RADRAG_VLLM_URL (make bench starts one first)."""

from __future__ import annotations

import json
import sys
import time

import httpx

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.config import get_settings
from rag.crosscheck.context_checker import _read_cached
from rag.crosscheck.verdict import ContextSentenceCheck
from rag.domain import DraftRequest
from rag.evaluation.runner import iu_cases
from rag.kb.sources import SPLIT_DIR
from rag.labeler import RuleLabeler, split_sentences
from rag.labeler.rules import _label_cached
from rag.services import build_services
from rag.stages.verify import VerificationContext, verify_sentence


def main() -> int:
    """Print the figures."""
    s = get_settings()
    svc = build_services(s)
    if not svc.kb.ready:
        print(f"no knowledge base: {svc.kb.last_error}", file=sys.stderr)
        return 1
    reports = load_reports(iu_reports_dir(s.assets_dir))
    test = [reports[i] for i in read_split(SPLIT_DIR, "test") if reports[i].text]
    labeler = RuleLabeler()
    sentences = sorted({x for r in test for x in split_sentences(r.text)})
    cases, _ = iu_cases(reports, [r.id for r in test], labeler)

    cross = ContextSentenceCheck()
    cross.check("No pneumothorax.", cases[0].labels)  # load the spaCy pipeline untimed

    # 1. Verifier throughput on distinct real sentences, with the readers' caches cleared.
    ctx = VerificationContext(labels=cases[0].labels, require_evidence=False)
    _clear()
    t = time.perf_counter()
    for x in sentences:
        verify_sentence(x, ctx, labeler, cross)
    verify_s = time.perf_counter() - t
    rate = len(sentences) / verify_s

    # 2. Share of drafting time spent verifying (extractive generator, no LLM).
    draft_s = check_s = 0.0
    n_sent = 0
    for c in cases[:200]:
        t = time.perf_counter()
        r = svc.pipeline.draft(DraftRequest(labels=c.labels))
        draft_s += time.perf_counter() - t
        _clear()
        sents = [v.text for v in r.verdicts]
        t = time.perf_counter()
        for x in sents:
            verify_sentence(
                x, VerificationContext(labels=c.labels, require_evidence=False), labeler, cross
            )
        check_s += time.perf_counter() - t
        n_sent += len(sents)

    print(
        f"verifier: {len(sentences)} distinct IU test sentences in {verify_s:.2f} s "
        f"= {rate:.0f} sentences/s (labeler cache cleared)"
    )
    print(
        f"drafting 200 cases (extractive): {draft_s * 1000 / 200:.2f} ms per draft; "
        f"re-verifying its {n_sent} sentences uncached: {check_s * 1000 / 200:.2f} ms per "
        f"draft = {check_s / draft_s:.1%} of drafting time"
    )
    figures = {
        "verifier_sentences_per_s": rate,
        "verify_share_of_extractive_draft": check_s / draft_s,
    }
    share = _vllm_share(s, cases[:8], labeler, cross)
    if share is not None:
        figures["verify_share_of_vllm_draft"] = share
    print(json.dumps(figures))
    return 0


def _clear() -> None:
    _label_cached.cache_clear()
    _read_cached.cache_clear()


def _vllm_share(settings, cases, labeler, cross) -> float | None:
    """Verifier time over guarded vLLM drafting time on the same cases (None: no server)."""
    try:
        if httpx.get(f"{settings.vllm_url}/health", timeout=3).status_code != 200:
            raise httpx.HTTPError("unhealthy")
    except httpx.HTTPError:
        print(f"no vLLM server at {settings.vllm_url}: share of a vLLM draft not measured")
        return None
    svc = build_services(settings.model_copy(update={"generator": "vllm", "llm_timeout_s": 900}))
    draft_s = check_s = 0.0
    n = 0
    for c in cases:
        t = time.perf_counter()
        r = svc.pipeline.draft(DraftRequest(labels=c.labels))
        draft_s += time.perf_counter() - t
        _clear()
        ctx = VerificationContext(labels=c.labels, require_evidence=False)
        t = time.perf_counter()
        for v in r.verdicts:
            verify_sentence(v.text, ctx, labeler, cross)
        check_s += time.perf_counter() - t
        n += len(r.verdicts)
    print(
        f"guarded vLLM drafts ({len(cases)} IU test cases): {draft_s / len(cases):.2f} s per "
        f"draft; verifying its {n} sentences (both readers, uncached): "
        f"{check_s * 1000 / len(cases):.1f} ms per draft = {check_s / draft_s:.2%} of drafting"
    )
    return check_s / draft_s


if __name__ == "__main__":
    sys.exit(main())
