"""The labeler reads findings, negation, uncertainty and global statements."""

from __future__ import annotations

import pytest

from rag.domain import Finding, State
from rag.labeler import RuleLabeler, split_sentences

pytestmark = pytest.mark.unit
F, P, A, U = Finding, State.present, State.absent, State.uncertain

CASES: list[tuple[str, dict[Finding, State]]] = [
    ("The heart is enlarged.", {F.cardiomegaly: P}),
    ("Cardiomegaly.", {F.cardiomegaly: P}),
    ("Heart size is normal.", {F.cardiomegaly: A}),
    ("The heart is not enlarged.", {F.cardiomegaly: A}),
    ("Borderline cardiomegaly.", {F.cardiomegaly: U}),
    ("Heart size is upper limits of normal.", {F.cardiomegaly: U}),
    (
        "The cardiomediastinal silhouette is within normal limits.",
        {F.cardiomegaly: A, F.enlarged_cardiomediastinum: A},
    ),
    ("The mediastinum is widened.", {F.enlarged_cardiomediastinum: P}),
    ("Blunting of the right costophrenic angle.", {F.pleural_effusion: P}),
    ("Costophrenic angles are sharp.", {F.pleural_effusion: A}),
    ("Collapsed lung.", {F.pneumothorax: P}),
    ("Left lower lobe collapse.", {F.atelectasis: P}),
    ("No pleural effusion or pneumothorax.", {F.pleural_effusion: A, F.pneumothorax: A}),
    (
        "No focal airspace consolidation, pleural effusion, or pneumothorax.",
        {F.consolidation: A, F.pleural_effusion: A, F.pneumothorax: A},
    ),
    ("Lungs are free of focal airspace disease.", {F.lung_opacity: A}),
    ("Pneumothorax is not seen.", {F.pneumothorax: A}),
    # Key-value statements, as LLMs and templated reports write them.
    ("- **Pneumothorax:** Absent", {F.pneumothorax: A}),
    ("Pleural Effusion - **Absent**", {F.pleural_effusion: A}),
    ("Cardiomegaly: no.", {F.cardiomegaly: A}),
    ("Lung Opacity: Present", {F.lung_opacity: P}),
    ("Edema: possible.", {F.edema: U}),
    ("Pleural effusion - no change from prior.", {F.pleural_effusion: P}),
    ("1. **Cardiomegaly:** Absent 2. **Edema:** Absent", {F.cardiomegaly: A, F.edema: A}),
    ("Effusions have resolved.", {F.pleural_effusion: A}),
    ("Cannot exclude pneumonia.", {F.pneumonia: U}),
    ("Pneumonia cannot be excluded.", {F.pneumonia: U}),
    ("Possible small left effusion.", {F.pleural_effusion: U}),
    ("Findings may represent atelectasis.", {F.atelectasis: U}),
    ("Questionable nodule in the right upper lobe.", {F.lung_lesion: U}),
    ("Atelectasis versus pneumonia at the left base.", {F.atelectasis: U, F.pneumonia: U}),
    ("No suspicious pulmonary nodules.", {F.lung_lesion: A}),
    ("No definite pulmonary edema is seen.", {F.edema: U}),
    ("Cardiomegaly and/or pericardial effusion.", {F.cardiomegaly: U}),
    (
        "There is no pneumothorax, but there is a small effusion.",
        {F.pneumothorax: A, F.pleural_effusion: P},
    ),
    (
        "No acute cardiopulmonary abnormality.",
        {
            F.lung_opacity: A,
            F.consolidation: A,
            F.pneumonia: A,
            F.edema: A,
            F.pleural_effusion: A,
            F.pneumothorax: A,
        },
    ),
    (
        "The lungs are clear.",
        {F.lung_opacity: A, F.consolidation: A, F.pneumonia: A, F.edema: A, F.atelectasis: A},
    ),
    (
        "Left basilar atelectasis, lungs otherwise clear.",
        {F.atelectasis: P, F.lung_opacity: A, F.consolidation: A},
    ),
    ("The overlying bony structures reveal no acute abnormalities.", {F.fracture: A}),
    ("No acute bony abnormality.", {F.fracture: A}),
    ("Healed left rib fractures.", {F.fracture: P}),
    ("Right IJ central venous catheter tip in the SVC.", {F.support_devices: P}),
    ("Pacemaker leads in the right atrium and ventricle.", {F.support_devices: P}),
    ("No change in the left lower lobe opacity.", {F.lung_opacity: P}),
    ("Pulmonary vascular congestion.", {F.edema: P}),
    ("Diffuse interstitial opacities.", {F.lung_opacity: P}),
    ("Pleural thickening at the apices.", {F.pleural_other: P}),
    ("Normal chest x-ray.", {F.no_finding: P, F.cardiomegaly: A, F.fracture: A}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_sentence_labels(text: str, expected: dict[Finding, State]) -> None:
    got = RuleLabeler().label(text)
    assert {f: got.get(f) for f in expected} == expected


@pytest.mark.parametrize(
    "text",
    [
        "Stable calcified granuloma.",
        "The trachea is midline.",
        "Degenerative changes of the thoracic spine.",
    ],
)
def test_sentences_about_nothing_in_the_ontology(text: str) -> None:
    assert RuleLabeler().label(text) == {}


def test_mentions_outside_the_sentence_do_not_leak() -> None:
    got = RuleLabeler().label("No pneumothorax.")
    assert set(got) == {F.pneumothorax}


def test_report_aggregation_prefers_positive_and_derives_no_finding() -> None:
    lab = RuleLabeler()
    abnormal = lab.label_report("No effusion. Small right pleural effusion. Heart is normal.")
    assert abnormal[F.pleural_effusion] is P
    assert abnormal[F.no_finding] is A
    normal = lab.label_report("Heart size is normal. The lungs are clear. No pneumothorax.")
    assert normal[F.no_finding] is P
    assert normal[F.cardiomegaly] is A


def test_split_sentences_keeps_decimals_and_splits_lines() -> None:
    assert split_sentences("Nodule measures 1.5 cm. No effusion.\nHeart normal") == [
        "Nodule measures 1.5 cm.",
        "No effusion.",
        "Heart normal",
    ]
