"""Evaluation cases whose label sets come from the image encoder (NIH images, NIH labels).

Each image of a project split is encoded exactly as the service encodes an upload
(`encode_study`, then `label_set`). The reference is NIH's own labels mapped onto the
ontology (`reference_states`): every NIH-labelled finding is present or absent; findings
NIH does not label (enlarged cardiomediastinum, fracture, support devices) are outside
`scored`, so a draft statement about them is recorded but never counted as an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.adapters.nih_images import (
    NIH_LABELLED,
    NihRecord,
    by_split,
    load_pixels,
    read_records,
    reference_states,
)
from rag.domain import DecodedImage
from rag.evaluation.aggregate import age_band
from rag.evaluation.drafters import Drafter, EvalCase, Outcome
from rag.imaging_pipeline import encode_study, image_gate
from rag.ports import ImageEncoder
from rag.stages.encode import label_set


def case_meta(record: NihRecord, root: Path) -> dict[str, str]:
    """Demographics and provenance of one image (subgroup keys: sex, age_band, view_position)."""
    return {
        "patient": record.patient,
        "sex": record.sex,
        "age": "" if record.age is None else str(record.age),
        "age_band": age_band(record.age),
        "view_position": record.view,
        "nih_labels": "|".join(sorted(record.labels)),
        "image": str(record.path.relative_to(root)),
    }


def data_digest(root: Path) -> str:
    """A short digest of labels.csv: a run's configuration names the data it scored."""
    return hashlib.sha256((root / "labels.csv").read_bytes()).hexdigest()[:16]


def nih_cases(
    root: Path, split: str, encoder: ImageEncoder, limit: int | None = None
) -> list[EvalCase]:
    """Encoder-labelled cases of a patient-level split (in labels.csv order)."""
    records = by_split(read_records(root))[split]
    records = records[:limit] if limit else records
    cases = []
    for r in records:
        # A PNG upload carries no view position, so none is given here either (the service
        # sees the same); NIH's view goes into meta for the subgroup table.
        image = DecodedImage(pixels=load_pixels(r), source="png")
        encoding = encode_study(encoder, [image])
        cases.append(
            EvalCase(
                id=r.path.stem,
                labels=label_set(encoding),
                reference="",
                meta=case_meta(r, root),
                reference_labels=reference_states(r.labels),
                scored=NIH_LABELLED,
                encoding=encoding,
                probabilities={f: e.probability for f, e in encoding.findings.items()},
            )
        )
    return cases


class ImagePathDrafter:
    """The service's image path over encoder-labelled cases: the image gate, then a drafter.

    `calibration` is the encoder's guard calibration as the service reads it (None: not
    certified, so nothing drafts). `lift` measures drafts past the certification (the OOD
    check stays); only an explicitly named run option does that.
    """

    def __init__(self, inner: Drafter, calibration: dict | None, lift: bool = False) -> None:
        self.inner, self.name, self.calibration = inner, inner.name, calibration
        self.lift = lift

    def draft(self, case: EvalCase) -> Outcome:
        """Abstain with the service's reason when the gate closes, else draft."""
        if case.encoding is None:
            raise ValueError(f"case {case.id}: the image path needs the encoder's answer")
        reason = image_gate(case.encoding, self.calibration, lift_certification=self.lift)
        if reason is not None:
            return Outcome("abstained", [], [reason.code])
        return self.inner.draft(case)
