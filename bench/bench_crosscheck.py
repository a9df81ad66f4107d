"""Independent-check benchmark: start-up cost and sentences/s against the rule labeler.

Run with `make bench`. Every figure is measured in this run on this machine: the cold
start (import spaCy + medspaCy, build the pipeline) in a fresh process, then both readers
on the same distinct IU X-ray validation sentences, caches cleared, and their ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.config import get_settings
from rag.crosscheck import ContextChecker
from rag.crosscheck.context_checker import _read_cached
from rag.kb.sources import SPLIT_DIR
from rag.labeler import RuleLabeler, split_sentences
from rag.labeler.rules import _label_cached

_COLD = (
    "import time; t = time.perf_counter(); import medspacy, spacy; t1 = time.perf_counter(); "
    "from rag.crosscheck.context_checker import _pipeline; _pipeline(); "
    "t2 = time.perf_counter(); print(t1 - t, t2 - t1)"
)


def main() -> int:
    """Print the figures."""
    cold = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True)
    if cold.returncode:
        print(cold.stderr, file=sys.stderr)
        return 1
    import_s, build_s = (float(x) for x in cold.stdout.split())
    reports = load_reports(iu_reports_dir(get_settings().assets_dir))
    ids = read_split(SPLIT_DIR, "validation")
    sentences = sorted({x for i in ids for x in split_sentences(reports[i].text)})
    checker, labeler = ContextChecker(), RuleLabeler()
    checker.read("warm up")
    _read_cached.cache_clear()
    t = time.perf_counter()
    for x in sentences:
        checker.read(x)
    cross_s = time.perf_counter() - t
    _label_cached.cache_clear()
    t = time.perf_counter()
    for x in sentences:
        labeler.label(x)
    rule_s = time.perf_counter() - t
    n = len(sentences)
    print(f"cold start: import spaCy + medspaCy {import_s:.2f} s, build pipeline {build_s:.2f} s")
    print(
        f"{n} distinct IU validation sentences: crosscheck {n / cross_s:.0f}/s, "
        f"rule labeler {n / rule_s:.0f}/s, ratio {cross_s / rule_s:.1f}x the labeler's time"
    )
    print(
        json.dumps(
            {
                "crosscheck_import_s": import_s,
                "crosscheck_build_s": build_s,
                "crosscheck_sentences_per_s": n / cross_s,
                "rule_labeler_sentences_per_s": n / rule_s,
                "crosscheck_time_ratio": cross_s / rule_s,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
