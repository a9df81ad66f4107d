"""Finding attributes: closed vocabularies, which findings take which, and licensed words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rag.domain import (
    ATTRIBUTE_SCOPE,
    Device,
    DeviceType,
    Finding,
    FindingAttributes,
    FindingLabel,
    LabelSet,
    Laterality,
    Location,
    Severity,
    State,
    attribute_problems,
    licensed_details,
)

pytestmark = pytest.mark.unit


def _labels(**findings: FindingLabel) -> LabelSet:
    return LabelSet(findings={Finding(f): lab for f, lab in findings.items()})


def _present(**attrs: object) -> FindingLabel:
    return FindingLabel(state=State.present, attributes=FindingAttributes(**attrs))


def test_unknown_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="laterality"):
        FindingAttributes(laterality="up")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="type"):
        Device(type="robot")  # type: ignore[arg-type]


def test_position_must_fit_the_device() -> None:
    Device(type=DeviceType.picc, position="cavoatrial_junction")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="stomach does not apply to picc"):
        Device(type=DeviceType.picc, position="stomach")  # type: ignore[arg-type]


def test_lobes_fit_their_side() -> None:
    FindingAttributes(laterality=Laterality.right, location=Location.middle_lobe)
    with pytest.raises(ValidationError, match="middle lobe"):
        FindingAttributes(laterality=Laterality.left, location=Location.middle_lobe)
    with pytest.raises(ValidationError, match="lingula"):
        FindingAttributes(laterality=Laterality.bilateral, location=Location.lingula)


@pytest.mark.parametrize(
    ("finding", "attrs", "field"),
    [
        (Finding.cardiomegaly, {"laterality": "left"}, "laterality"),
        (Finding.cardiomegaly, {"severity": "small"}, "severity"),
        (Finding.pleural_effusion, {"severity": "mild"}, "severity"),
        (Finding.pleural_effusion, {"count": "multiple"}, "count"),
        (Finding.no_finding, {"severity": "mild"}, "severity"),
        (Finding.edema, {"devices": [{"type": "picc"}]}, "devices"),
    ],
)
def test_attributes_outside_a_findings_scope_are_named(
    finding: Finding, attrs: dict, field: str
) -> None:
    a = FindingAttributes.model_validate(attrs)
    assert [p[0] for p in attribute_problems(finding, State.present, a)] == [field]
    with pytest.raises(ValidationError, match=f"{finding.value}.attributes.{field}"):
        LabelSet(findings={finding: FindingLabel(state=State.present, attributes=a)})


def test_absent_findings_take_no_attributes() -> None:
    a = FindingAttributes(laterality=Laterality.left)
    assert attribute_problems(Finding.pleural_effusion, State.absent, a) == [
        ("attributes", "an absent pleural_effusion takes no attributes")
    ]
    # Empty attributes are no claim at all.
    assert attribute_problems(Finding.pleural_effusion, State.absent, FindingAttributes()) == []


def test_every_scale_is_a_documented_severity_scale() -> None:
    for scope in ATTRIBUTE_SCOPE.values():
        assert set(scope.severity) <= set(Severity)
    assert set(ATTRIBUTE_SCOPE) == set(Finding)


def test_licensed_details_per_finding() -> None:
    labels = _labels(
        pleural_effusion=_present(laterality="left", severity="small"),
        cardiomegaly=_present(severity="mild"),
        edema=FindingLabel(state=State.absent),
        atelectasis=_present(laterality="bilateral", location="basal"),
        support_devices=_present(
            devices=[{"type": "central_venous_catheter", "position": "superior_vena_cava"}]
        ),
        pneumothorax=FindingLabel(state=State.present),
    )
    lic = licensed_details(labels)
    assert lic[Finding.pleural_effusion] == {"left", "l", "small"}
    assert lic[Finding.cardiomegaly] == {"mild", "mildly"}
    assert {"bilateral", "both", "bibasilar", "basilar", "bases"} <= lic[Finding.atelectasis]
    assert "biapical" not in lic[Finding.atelectasis]
    assert {"central", "venous", "catheter", "svc", "tip"} <= lic[Finding.support_devices]
    # No attributes, no licence: a finding without them is left out.
    assert Finding.pneumothorax not in lic and Finding.edema not in lic


def test_bilateral_without_place_licenses_bibasilar_but_not_biapical() -> None:
    lic = licensed_details(_labels(pleural_effusion=_present(laterality="bilateral")))
    assert "bibasilar" in lic[Finding.pleural_effusion]
    assert "biapical" not in lic[Finding.pleural_effusion]
    assert "right" not in lic[Finding.pleural_effusion]


def test_attributes_of_defaults_to_empty() -> None:
    labels = _labels(pleural_effusion=_present(laterality="right"))
    assert labels.attributes_of(Finding.pleural_effusion).laterality is Laterality.right
    assert labels.attributes_of(Finding.edema).is_empty()
