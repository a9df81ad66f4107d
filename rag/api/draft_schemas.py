"""Wire models of the draft lifecycle endpoints (/v1/drafts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.api.schemas import MAX_TEXT, FindingLabelIn, ReportCreate
from rag.domain import Finding, LabelSet, State
from rag.review.models import EDIT_REASONS, Draft, DraftContent, StudyMeta

Reason = Literal[EDIT_REASONS]  # type: ignore[valid-type]


class TextEditIn(BaseModel):
    """Replace (text), remove (text null) or add (index null) one sentence."""

    model_config = ConfigDict(extra="forbid")

    section: Literal["findings", "impression"]
    index: int | None = Field(default=None, ge=0)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    reason: Reason = "other"  # type: ignore[valid-type]


class DraftPatch(BaseModel):
    """PATCH /v1/drafts/{id}: label edits (re-drafted) and/or sentence edits (verified)."""

    model_config = ConfigDict(extra="forbid")

    revision: int | None = Field(default=None, ge=1, description="Refuse if changed since.")
    labels: dict[Finding, State | FindingLabelIn] | None = Field(default=None, min_length=1)
    text_edits: list[TextEditIn] = Field(default_factory=list, max_length=64)

    def label_set(self) -> LabelSet | None:
        """The reviewer's label set (raises ValidationError when inconsistent)."""
        if self.labels is None:
            return None
        return ReportCreate(labels=self.labels).to_domain().labels


class SignIn(BaseModel):
    """POST /v1/drafts/{id}/sign body."""

    model_config = ConfigDict(extra="forbid")

    acknowledge_flagged: bool = Field(
        default=False, description="Sign although reviewer sentences are flagged."
    )


class DraftPublic(BaseModel):
    """A stored draft as clients see it."""

    draft_id: str
    parent_id: str | None
    version: int
    revision: int
    status: str
    source: str
    study: StudyMeta
    content: DraftContent
    report_text: str
    image_urls: list[str]
    signed: dict | None = None

    @classmethod
    def of(cls, d: Draft, signed: dict | None = None) -> DraftPublic:
        """From a stored draft."""
        return cls(
            draft_id=d.id,
            parent_id=d.parent_id,
            version=d.version,
            revision=d.revision,
            status=d.status,
            source=d.source,
            study=d.study,
            content=d.content,
            report_text=d.content.report_text(),
            image_urls=[f"/v1/images/{i}.png" for i in d.image_ids],
            signed=signed,
        )


class WorklistItem(BaseModel):
    """One worklist row."""

    draft_id: str
    status: str
    version: int
    source: str
    study: StudyMeta
    created_at: str
    abstention: list[str]
