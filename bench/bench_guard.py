"""Guard benchmark: verifier throughput and its share of drafting time. Run with `make
bench`; every figure is measured here (evaluation cases/s: bench/bench_eval.py)."""

from __future__ import annotations

import json
import sys
import time

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.config import get_settings
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

    # 1. Verifier throughput on distinct real sentences, with the labeler cache cleared.
    ctx = VerificationContext(labels=cases[0].labels, require_evidence=False)
    _label_cached.cache_clear()
    t = time.perf_counter()
    for x in sentences:
        verify_sentence(x, ctx, labeler)
    verify_s = time.perf_counter() - t
    rate = len(sentences) / verify_s

    # 2. Share of drafting time spent verifying (extractive generator, no LLM).
    draft_s = check_s = 0.0
    n_sent = 0
    for c in cases[:200]:
        t = time.perf_counter()
        r = svc.pipeline.draft(DraftRequest(labels=c.labels))
        draft_s += time.perf_counter() - t
        _label_cached.cache_clear()
        sents = [v.text for v in r.verdicts]
        t = time.perf_counter()
        for x in sents:
            verify_sentence(
                x, VerificationContext(labels=c.labels, require_evidence=False), labeler
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
    print(
        json.dumps(
            {
                "verifier_sentences_per_s": rate,
                "verify_share_of_extractive_draft": check_s / draft_s,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
