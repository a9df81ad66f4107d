"""The draft lifecycle: record a draft, re-draft on label edits, verify text edits, sign.

Reviewer text is verified sentence by sentence (rag.stages.verify.verify_text); a sentence
the verifier does not support is kept, flagged and shown, and signing one needs an explicit
acknowledgement, so no edit is ever silently accepted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rag.domain import DraftRequest, ImageEncoding, LabelSet, ReportResult
from rag.kb.store import KBError, KnowledgeBase
from rag.review.content import content_of, status_of
from rag.review.models import Draft, ReviewSentence, StudyMeta
from rag.security.audit import digest
from rag.services import Services
from rag.stages.verify import verify_text
from rag.store.drafts import DraftConflict, Feedback


@dataclass(frozen=True)
class TextEdit:
    """Replace (text), remove (text None) or add (index None) a sentence of a section."""

    section: str
    index: int | None
    text: str | None
    reason: str = "other"


def _kb(svc: Services) -> KnowledgeBase | None:
    with contextlib.suppress(KBError):
        return svc.kb.get()
    return None


def record_draft(
    svc: Services,
    *,
    study: StudyMeta,
    source: str,
    key_id: str,
    labels: LabelSet,
    result: ReportResult,
    audit: dict[str, object],
    indication: str | None = None,
    prior_report: str | None = None,
    encoding: ImageEncoding | None = None,
    images: list[tuple[bytes, str | None]] = (),  # type: ignore[assignment]
) -> tuple[Draft | None, dict[str, object]]:
    """Store a new draft with its audit entry (only the audit entry with persistence off)."""
    if svc.drafts is None:
        return None, svc.audit.append(audit)
    content = content_of(result, labels, _kb(svc), indication, prior_report, encoding)
    return svc.drafts.create(
        study, source, key_id, status_of(result), content, audit, images=images
    )


def relabel(svc: Services, draft: Draft, labels: LabelSet, reviewer: str) -> Draft:
    """Re-draft and re-verify from the reviewer's labels (earlier text edits are dropped)."""
    assert svc.drafts is not None
    old = draft.content
    request = DraftRequest(labels=labels, indication=old.indication, prior_report=old.prior_report)
    result = svc.pipeline.draft(request)
    fresh = content_of(result, labels, _kb(svc), old.indication, old.prior_report)
    changes = {
        f.value: lab.state.value
        for f, lab in labels.findings.items()
        if f not in old.labels or old.labels[f].state is not lab.state
    }
    removed = [f.value for f in old.labels if f not in labels.findings]
    # Confirming the proposal as it stands is not an edit (acceptance counts it accepted).
    edited = old.edited or bool(changes or removed)
    content = fresh.model_copy(
        update={"proposed": old.proposed, "encoder": old.encoder, "edited": edited}
    )
    status = "drafted" if result.status == "drafted" else "abstained"
    return svc.drafts.update(
        draft.id,
        reviewer,
        "labels_edited",
        status,
        content,
        {"changed": changes, "removed": removed, "decision": result.status},
        expected_revision=draft.revision,
    )


def _verified(svc: Services, draft: Draft, section: str, text: str) -> list[ReviewSentence]:
    c = draft.content
    verdicts = verify_text(text, c.label_set(), svc.pipeline.labeler, c.indication, c.prior_report)
    return [
        ReviewSentence(
            section=section,  # type: ignore[arg-type]
            text=v.text,
            origin="reviewer",
            verdict=v.verdict.value,
            reasons=v.reasons,
            flagged=v.verdict.value != "supported",
        )
        for v in verdicts
    ]


def edit_text(svc: Services, draft: Draft, edits: list[TextEdit], reviewer: str) -> Draft:
    """Apply sentence edits; each new sentence is verified and flagged when unsupported."""
    assert svc.drafts is not None
    sections = {
        name: [s for s in draft.content.sentences if s.section == name]
        for name in ("findings", "impression")
    }
    feedback: list[Feedback] = []
    log = []
    # Replacements and removals by index refer to the draft as it was: apply from the end.
    ordered = sorted(edits, key=lambda e: (e.index is None, -(e.index or 0)))
    for e in ordered:
        rows = sections[e.section]
        if e.index is not None and not 0 <= e.index < len(rows):
            raise IndexError(f"{e.section} has no sentence {e.index}")
        new = _verified(svc, draft, e.section, e.text) if e.text else []
        if e.index is None:
            rows.extend(new)
        else:
            old = rows[e.index]
            kind = "edited" if new else "removed"
            feedback.append(Feedback(kind, e.reason, digest(old.text)))
            rows[e.index : e.index + 1] = new
        log.append(
            {
                "section": e.section,
                "index": e.index,
                "reason": e.reason,
                "flagged": sum(s.flagged for s in new),
                "sentences": len(new),
            }
        )
    sentences = (*sections["findings"], *sections["impression"])
    content = draft.content.model_copy(update={"sentences": sentences, "edited": True})
    status = "drafted" if sentences else draft.status
    if status == "signed":  # pragma: no cover - update() refuses signed drafts first
        raise DraftConflict("signed")
    return svc.drafts.update(
        draft.id,
        reviewer,
        "text_edited",
        status,
        content,
        {"edits": log},
        feedback,
        expected_revision=draft.revision,
    )


def flagged(draft: Draft) -> list[ReviewSentence]:
    """The reviewer sentences the verifier did not support."""
    return [s for s in draft.content.sentences if s.flagged]
