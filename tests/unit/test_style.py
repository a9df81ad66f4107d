"""Report style: every composed sentence says, by the labeler, exactly what it was built for."""

from __future__ import annotations

import itertools
import random

import pytest

from rag.domain import (
    ATTRIBUTE_SCOPE,
    Count,
    Device,
    DevicePosition,
    DeviceType,
    Finding,
    FindingAttributes,
    FindingLabel,
    LabelSet,
    Laterality,
    Location,
    State,
    licensed_words,
)
from rag.labeler import RuleLabeler, find_details
from rag.stages import style

pytestmark = pytest.mark.unit

LABELER = RuleLabeler()


def _said(text: str) -> dict[Finding, State]:
    return {f: s for f, s in LABELER.label(text).items() if f is not Finding.no_finding}


def _unlicensed(text: str, attrs: FindingAttributes) -> set[str]:
    """Detail words in a sentence that its attributes do not license."""
    lic = licensed_words(attrs)
    return {w for d in find_details(text) for w in d.text.split() if w not in lic}


@pytest.mark.parametrize(
    ("section", "findings"), [(k, v) for k, v in style.NEGATIVES_AFTER.items() if v]
)
def test_combined_negatives_deny_exactly_their_findings(section: str, findings: tuple) -> None:
    for r in range(1, len(findings) + 1):
        for absent in itertools.combinations(findings, r):
            out = style.negative_sentences(list(absent))
            assert sorted(f for _, fs in out for f in fs) == sorted(absent)
            for text, denies in out:
                assert _said(text) == dict.fromkeys(denies, State.absent), text
                assert not find_details(text), text  # a negative carries no detail


def test_pleura_negatives_read_like_a_report() -> None:
    out = style.negative_sentences([Finding.pleural_effusion, Finding.pneumothorax])
    assert [t for t, _ in out] == ["There is no pleural effusion or pneumothorax."]
    lungs = style.negative_sentences([*style.LUNGS_CLEAR, Finding.lung_lesion])
    assert [t for t, _ in lungs] == ["The lungs are clear.", "No nodules or masses."]
    mixed = style.negative_sentences(
        [Finding.pleural_effusion, Finding.consolidation, Finding.pneumothorax]
    )
    assert [t for t, _ in mixed] == ["No focal consolidation, pneumothorax, or pleural effusion."]


def test_the_lungs_are_not_called_clear_beside_a_lung_finding() -> None:
    nodule = LabelSet.from_states(
        {"lung_lesion": "present", **dict.fromkeys((f.value for f in style.LUNGS_CLEAR), "absent")}
    )
    assert not style.lungs_may_be_clear(nodule)
    heart = LabelSet.from_states({"cardiomegaly": "present"})
    assert style.lungs_may_be_clear(heart)
    out = style.negative_sentences(list(style.LUNGS_CLEAR), lungs_clear=False)
    assert "The lungs are clear." not in [t for t, _ in out]
    assert sorted(f for _, fs in out for f in fs) == sorted(style.LUNGS_CLEAR)
    for text, denies in out:
        assert _said(text) == dict.fromkeys(denies, State.absent), text


def _random_attributes(rng: random.Random, finding: Finding) -> FindingAttributes | None:
    scope = ATTRIBUTE_SCOPE[finding]
    kw: dict[str, object] = {}
    if scope.laterality and rng.random() < 0.7:
        kw["laterality"] = rng.choice(list(Laterality))
    if scope.severity and rng.random() < 0.7:
        kw["severity"] = rng.choice(scope.severity)
    if scope.location and rng.random() < 0.5:
        kw["location"] = rng.choice(list(Location))
    if scope.count and rng.random() < 0.4:
        kw["count"] = rng.choice(list(Count))
    if scope.devices:
        t = rng.choice(list(DeviceType))
        positions = [None, *style_positions(t)]
        side = rng.choice([None, *Laterality])
        kw["devices"] = [Device(type=t, position=rng.choice(positions), side=side)]
    try:
        return FindingAttributes(**kw)  # type: ignore[arg-type]
    except ValueError:
        return None  # e.g. left middle lobe


def style_positions(t: DeviceType) -> tuple[DevicePosition, ...]:
    from rag.domain.attributes import DEVICE_POSITIONS

    return DEVICE_POSITIONS[t]


@pytest.mark.parametrize("finding", [f for f in Finding if f is not Finding.no_finding])
def test_attribute_sentences_state_the_finding_and_only_licensed_details(
    finding: Finding,
) -> None:
    rng = random.Random(finding.value)
    for _ in range(25):
        attrs = _random_attributes(rng, finding)
        if attrs is None:
            continue
        for state in (State.present, State.uncertain):
            texts = style.finding_sentence(finding, state, attrs)
            texts.append(style.impression_phrase(finding, state, attrs))
            for t in texts:
                assert _said(t) == {finding: state}, t
                assert not _unlicensed(t, attrs), (t, _unlicensed(t, attrs))
            # The impression never repeats a findings sentence word for word.
            assert texts[-1] not in texts[:-1]


# Devices the independent check has no term for ("chest port") are refused by it; every
# other finding's sentences must pass the whole guard, or the draft loses them at run time.
@pytest.mark.parametrize(
    "finding", [f for f in Finding if f not in (Finding.no_finding, Finding.support_devices)]
)
def test_attribute_sentences_pass_the_whole_guard(finding: Finding) -> None:
    from rag.crosscheck.verdict import ContextSentenceCheck
    from rag.stages.verify import verify_text

    check = ContextSentenceCheck()
    rng = random.Random(finding.value)
    for _ in range(25):
        attrs = _random_attributes(rng, finding)
        if attrs is None:
            continue
        for state in (State.present, State.uncertain):
            labels = LabelSet(findings={finding: FindingLabel(state=state, attributes=attrs)})
            texts = [*style.finding_sentence(finding, state, attrs)]
            texts.append(style.impression_phrase(finding, state, attrs))
            for t in texts:
                verdicts = verify_text(t, labels, LABELER, crosscheck=check)
                assert [v.reasons for v in verdicts] == [()], t


def test_attributes_are_stated() -> None:
    a = FindingAttributes(laterality=Laterality.left, severity="small")  # type: ignore[arg-type]
    assert style.finding_sentence(Finding.pleural_effusion, State.present, a) == [
        "There is a small left pleural effusion."
    ]
    assert style.impression_phrase(Finding.pleural_effusion, State.present, a) == (
        "Small left pleural effusion."
    )
    bibasilar = FindingAttributes(laterality=Laterality.bilateral, location=Location.basal)
    assert style.impression_phrase(Finding.atelectasis, State.uncertain, bibasilar) == (
        "Possible bibasilar atelectasis."
    )
    line = Device(type=DeviceType.picc, side=Laterality.right, position="superior_vena_cava")  # type: ignore[arg-type]
    assert style.finding_sentence(
        Finding.support_devices, State.present, FindingAttributes(devices=(line,))
    ) == ["A right-sided PICC line with the tip in the SVC is present."]
    # A fracture's side alone: "left-sided", but "bilateral", never "bilateral-sided".
    left, both = (FindingAttributes(laterality=x) for x in (Laterality.left, Laterality.bilateral))
    assert style.finding_sentence(Finding.fracture, State.present, left) == [
        "There is a left-sided fracture."
    ]
    assert style.finding_sentence(Finding.fracture, State.present, both) == [
        "There are bilateral fractures."
    ]


def test_report_order_and_importance() -> None:
    labels = LabelSet.from_states(
        {
            "cardiomegaly": "present",
            "pleural_effusion": "absent",
            "pneumothorax": "present",
            "consolidation": "uncertain",
            "fracture": "absent",
            "support_devices": "present",
        }
    )
    assert [f.value for f, _ in style.ordered_points(labels)] == [
        "support_devices",
        "cardiomegaly",
        "consolidation",
        "pneumothorax",
        "pleural_effusion",
        "fracture",
    ]
    speak = [Finding.cardiomegaly, Finding.support_devices, Finding.pneumothorax]
    assert style.by_importance(speak, labels) == [
        Finding.pneumothorax,
        Finding.cardiomegaly,
        Finding.support_devices,
    ]
    bad_tube = Device(type=DeviceType.endotracheal_tube, position=DevicePosition.malpositioned)
    labels = LabelSet(
        findings={
            **labels.findings,
            Finding.support_devices: FindingLabel(
                state=State.present, attributes=FindingAttributes(devices=(bad_tube,))
            ),
        }
    )
    assert style.by_importance(speak, labels)[0] is Finding.support_devices


def test_the_quiet_impression_claims_no_more_than_the_labels_assess() -> None:
    ls = LabelSet.from_states
    everything = dict.fromkeys((f.value for f in style.CARDIOPULMONARY), "absent")
    assert style.quiet_impression(ls(everything)) == (style.NO_ACUTE, style.ACUTE)
    # The six acute findings absent but the rest unassessed: only the airspace claim.
    acute_only = dict.fromkeys((f.value for f in style.ACUTE), "absent")
    assert style.quiet_impression(ls(acute_only)) == (style.NO_ACUTE_AIRSPACE, style.AIRSPACE)
    # Anything cardiopulmonary present or uncertain, or opacity unassessed: neither.
    assert style.quiet_impression(ls({**everything, "atelectasis": "uncertain"})) is None
    assert style.quiet_impression(ls({"pleural_effusion": "absent"})) is None
    # A support device is not cardiopulmonary: it does not silence the impression.
    assert style.quiet_impression(ls({**acute_only, "support_devices": "present"})) is not None
    for text, denies in (
        (style.NO_ACUTE, style.ACUTE),
        (style.NO_ACUTE_AIRSPACE, style.AIRSPACE),
    ):
        assert _said(text) == dict.fromkeys(denies, State.absent), text
