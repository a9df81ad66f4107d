"""A stored draft as the result the interop builders take (FHIR Bundle, DICOM SR).

Only sentences that passed the verifier are carried, plus a reviewer's own sentences once
the report is signed (a radiologist answers for them then); a flagged reviewer edit of an
unsigned draft is left out. Each sentence's findings are read again by the verifier's
labeler and kept only where they match the draft's labels, so an export never asserts a
state the label set does not hold.
"""

from __future__ import annotations

from rag.domain import DraftSentence, LabelSet, Report, ReportResult
from rag.interop.meta import StudyMeta as ExportMeta
from rag.ports import Labeler
from rag.review.models import Draft

_ORIGINS = {"extractive", "llm", "template", "repair"}


class NotExportable(ValueError):
    """The stored draft lacks what an export must carry."""


def draft_result(draft: Draft, labeler: Labeler) -> ReportResult:
    """The stored draft as a ReportResult (abstained drafts keep their reasons)."""
    c = draft.content
    labels = LabelSet(findings=c.labels)
    signed = draft.status == "signed"
    kept = [
        s for s in c.sentences if s.verdict == "supported" or (signed and s.origin == "reviewer")
    ]
    sentences = [
        DraftSentence(
            text=s.text,
            section=s.section,
            findings={f: st for f, st in labeler.label(s.text).items() if labels.state_of(f) is st},
            evidence=s.evidence,
            origin=s.origin if s.origin in _ORIGINS else "template",
        )
        for s in kept
    ]
    findings = tuple(s for s in sentences if s.section == "findings")
    impression = tuple(s for s in sentences if s.section == "impression")
    report = Report(findings=findings, impression=impression) if sentences else None
    if c.provenance is None:
        raise NotExportable("the stored draft has no provenance to export")
    return ReportResult(
        status="drafted" if report is not None else "abstained",
        report=report,
        abstention=c.abstention,
        provenance=c.provenance,
    )


def export_meta(draft: Draft) -> ExportMeta:
    """The export's study block: identifiers, encoder, signed or preliminary."""
    return ExportMeta(
        study_instance_uid=draft.study.study_instance_uid,
        accession_number=draft.study.accession_number,
        image_encoder=draft.content.encoder,
        signed=draft.status == "signed",
        view_count=len(draft.image_ids) or None,
    )
