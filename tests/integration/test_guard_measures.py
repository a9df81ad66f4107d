"""The guard's measures on real IU X-ray text (held-out test split)."""

from __future__ import annotations

import pytest

from rag.adapters.iu_xray import load_reports, read_split
from rag.adapters.registry_assets import iu_reports_dir
from rag.evaluation.challenge import generated_cases, run
from rag.evaluation.mesh import agreement
from rag.kb.sources import SPLIT_DIR
from rag.labeler import RuleLabeler

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def test_reports(real_settings):
    reports = load_reports(iu_reports_dir(real_settings.assets_dir))
    return [reports[i] for i in read_split(SPLIT_DIR, "test") if reports[i].text]


def test_generated_challenge_on_the_test_split(test_reports) -> None:
    res = run(generated_cases(test_reports, RuleLabeler(), max_sentences=300), RuleLabeler())
    assert res["n_corrupted"] > 1000 and res["n_correct"] > 200
    assert res["recall"] >= 0.98, res["errors"][:5]
    # Verifier v2 refuses any word it cannot account for (issue 12: an unknown clinical
    # word is a reason to refuse). Its neutral vocabulary comes from train/validation
    # only; measured 2026-12-02: 0.027 on validation, 0.042 here on test (unseen words
    # such as "layering", "decubitus"). The bound was 0.02 for the open-world v1 verifier.
    assert res["false_alarm_rate"] <= 0.05, res["errors"][:5]


def test_labeler_agrees_with_human_mesh_annotations(test_reports) -> None:
    res = agreement(test_reports, RuleLabeler())
    assert res["reports"] > 500
    # Regression gate at the level measured when the labeler was written (0.873).
    assert res["micro_f1_findings"] >= 0.85
    assert res["per_finding"]["cardiomegaly"]["f1"] >= 0.85
