"""Patient-specific details are found, and allowed only when the request gives them."""

from __future__ import annotations

import pytest

from rag.labeler.details import DetailKind, find_details, unsupported_details

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Nodule measures 1.5 cm.", DetailKind.measurement),
        ("Two nodules.", DetailKind.number),
        ("Left pleural effusion.", DetailKind.laterality),
        ("Bibasilar atelectasis.", DetailKind.laterality),
        ("Opacity in the lower lobe.", DetailKind.location),
        ("Small pleural effusion.", DetailKind.size),
        ("Pacemaker in place.", DetailKind.device),
        ("Unchanged compared to prior.", DetailKind.comparison),
        ("Stable cardiomegaly.", DetailKind.comparison),
        ("Heart size XXXX normal.", DetailKind.redacted),
    ],
)
def test_detail_kinds(text: str, kind: DetailKind) -> None:
    assert kind in {d.kind for d in find_details(text)}


@pytest.mark.parametrize(
    "text",
    [
        "No pleural effusion.",
        "The heart is enlarged.",
        "Support devices are present.",
        "Possible pneumonia.",
    ],
)
def test_detail_free_sentences(text: str) -> None:
    assert find_details(text) == []


def test_details_given_by_the_request_are_allowed() -> None:
    assert unsupported_details("Left pleural effusion.", "left chest pain", False) == []
    left = unsupported_details("Left pleural effusion.", "chest pain", False)
    assert [d.kind for d in left] == [DetailKind.laterality]


def test_comparisons_need_a_prior() -> None:
    assert unsupported_details("Unchanged cardiomegaly.", "", has_prior=True) == []
    no_prior = unsupported_details("Unchanged cardiomegaly.", "", has_prior=False)
    assert [d.kind for d in no_prior] == [DetailKind.comparison]
