"""Domain models refuse inconsistent input and derive effective states."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rag.domain import Finding, FindingLabel, LabelSet, State

pytestmark = pytest.mark.unit


def test_probability_must_be_in_unit_interval() -> None:
    with pytest.raises(ValidationError):
        FindingLabel(state=State.present, probability=1.5)


def test_no_finding_present_clashes_with_a_present_finding() -> None:
    with pytest.raises(ValidationError, match="edema"):
        LabelSet.from_states({"no_finding": "present", "edema": "present"})


def test_support_devices_do_not_clash_with_no_finding() -> None:
    ls = LabelSet.from_states({"no_finding": "present", "support_devices": "present"})
    assert ls.state_of(Finding.support_devices) is State.present


def test_effective_state() -> None:
    normal = LabelSet.from_states({"no_finding": "present"})
    assert normal.effective_state(Finding.cardiomegaly) is State.absent
    assert normal.effective_state(Finding.support_devices) is None
    partial = LabelSet.from_states({"cardiomegaly": "present"})
    assert partial.effective_state(Finding.edema) is None
    assert partial.with_state(State.present) == [Finding.cardiomegaly]


def test_models_are_frozen() -> None:
    lab = FindingLabel(state=State.absent)
    with pytest.raises(ValidationError):
        lab.state = State.present  # type: ignore[misc]
