"""Comparison with a prior report: changes follow from the two label sets, and only from them."""

from __future__ import annotations

import pytest

from rag.domain import Finding, FindingAttributes, FindingLabel, LabelSet, State, Verdict
from rag.domain.compare import ChangeKind, compare
from rag.labeler import RuleLabeler
from rag.stages import style
from rag.stages.prior import attributes_in, read_prior
from rag.stages.verify import VerificationContext, verify_sentence

pytestmark = pytest.mark.unit


def _ls(**findings: str | tuple[str, dict]) -> LabelSet:
    out = {}
    for f, v in findings.items():
        state, attrs = (v, None) if isinstance(v, str) else (v[0], FindingAttributes(**v[1]))
        out[Finding(f)] = FindingLabel(state=State(state), attributes=attrs)
    return LabelSet(findings=out)


def _kinds(prior: LabelSet, current: LabelSet) -> dict[str, str]:
    return {c.finding.value: c.kind.value for c in compare(prior, current)}


def test_new_resolved_unchanged() -> None:
    prior = _ls(pneumothorax="present", pleural_effusion="absent", cardiomegaly="present")
    now = _ls(pneumothorax="absent", pleural_effusion="present", cardiomegaly="present")
    assert _kinds(prior, now) == {
        "cardiomegaly": "unchanged",
        "pneumothorax": "resolved",
        "pleural_effusion": "new",
    }


def test_severity_moves_along_its_scale() -> None:
    prior = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "small"}),
        edema=("present", {"severity": "moderate"}),
    )
    now = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "moderate"}),
        edema=("present", {"severity": "mild"}),
    )
    assert _kinds(prior, now) == {"edema": "improved", "pleural_effusion": "larger"}
    assert _kinds(now, prior) == {"edema": "worsened", "pleural_effusion": "smaller"}


def test_no_change_statement_without_grounds() -> None:
    # Not assessed before, uncertain now, or a different side: nothing follows.
    prior = _ls(pleural_effusion=("present", {"laterality": "left"}), edema="uncertain")
    now = _ls(
        pleural_effusion=("present", {"laterality": "right"}),
        edema="present",
        pneumothorax="present",
    )
    assert compare(prior, now) == []
    assert compare(LabelSet(), now) == []


def test_change_sentences_read_as_the_current_state() -> None:
    prior = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "small"}),
        pneumothorax=("present", {"laterality": "right"}),
        cardiomegaly=("present", {"severity": "mild"}),
        edema="absent",
    )
    now = _ls(
        pleural_effusion=("present", {"laterality": "left", "severity": "moderate"}),
        pneumothorax="absent",
        cardiomegaly=("present", {"severity": "mild"}),
        edema="present",
    )
    texts = {c.kind: style.change_sentence(c) for c in compare(prior, now)}
    assert texts == {
        ChangeKind.larger: "Increased size of the left pleural effusion, now moderate.",
        ChangeKind.resolved: "Interval resolution of the right pneumothorax.",
        ChangeKind.unchanged: "Stable mild cardiomegaly.",
        ChangeKind.new: "New pulmonary edema.",
    }
    labeler = RuleLabeler()
    for c in compare(prior, now):
        said = labeler.label(style.change_sentence(c))
        assert said.get(c.finding) is now.effective_state(c.finding)


def test_read_prior_takes_findings_and_their_attributes() -> None:
    prior = read_prior(
        "Small left pleural effusion. No pneumothorax. Heart size is normal. "
        "Bibasilar atelectasis and mild edema.",
        RuleLabeler(),
    )
    assert prior.state_of(Finding.pleural_effusion) is State.present
    eff = prior.attributes_of(Finding.pleural_effusion)
    assert (eff.laterality, eff.severity) == ("left", "small")
    assert prior.state_of(Finding.pneumothorax) is State.absent
    assert prior.state_of(Finding.cardiomegaly) is State.absent
    # Two findings in one sentence: no attribute is pinned on either.
    assert prior.attributes_of(Finding.atelectasis).is_empty()
    assert prior.state_of(Finding.edema) is State.present


def test_attributes_in_keeps_to_the_findings_scope() -> None:
    a = attributes_in("Mild cardiomegaly on the left.", Finding.cardiomegaly)
    assert a == FindingAttributes(severity="mild")  # type: ignore[arg-type]
    b = attributes_in("Bibasilar atelectasis.", Finding.atelectasis)
    assert (b.laterality, b.location) == ("bilateral", "basal")
    assert attributes_in("Left middle lobe opacity.", Finding.lung_opacity).is_empty()


def test_every_drafted_change_sentence_passes_the_verifier() -> None:
    prior = _ls(pleural_effusion=("present", {"severity": "small"}), cardiomegaly="present")
    now = _ls(pleural_effusion=("present", {"severity": "large"}), cardiomegaly="present")
    pairs = [
        (prior, now),
        (now, prior),
        (
            _ls(edema=("present", {"severity": "mild"})),
            _ls(edema=("present", {"severity": "severe"})),
        ),
        (
            _ls(edema=("present", {"severity": "severe"})),
            _ls(edema=("present", {"severity": "mild"})),
        ),
        (_ls(edema="absent", pneumothorax="present"), _ls(edema="present", pneumothorax="absent")),
    ]
    every = [(a, b, c) for a, b in pairs for c in compare(a, b)]
    assert {c.kind for _, _, c in every} == set(ChangeKind)
    for before, after, c in every:
        ctx = VerificationContext(
            labels=after, prior_report="(given)", prior_labels=before, require_evidence=False
        )
        v = verify_sentence(style.change_sentence(c), ctx, RuleLabeler())
        assert v.verdict is Verdict.supported, (c.kind, style.change_sentence(c), v.reasons)
        # The same sentence claims a change the labels do not support once they are swapped.
        if c.kind in (ChangeKind.new, ChangeKind.resolved):
            swapped = VerificationContext(
                labels=before, prior_report="(given)", prior_labels=after, require_evidence=False
            )
            bad = verify_sentence(style.change_sentence(c), swapped, RuleLabeler())
            assert bad.verdict is not Verdict.supported, c.kind
