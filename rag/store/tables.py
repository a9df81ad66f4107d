"""The database schema (SQLAlchemy 2 declarative); migrations mirror it under migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class StudyRow(Base):
    """A study's patient-free metadata (no names, dates of birth or free text)."""

    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    accession_number: Mapped[str | None] = mapped_column(String(16), index=True)
    view: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(1))
    age_band: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DraftRow(Base):
    """One version of a study's draft; `content` holds labels, proposal, report, verdicts."""

    __tablename__ = "drafts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    # A correction of a signed report is a new draft whose parent is the signed one.
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("drafts.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)
    # The pipeline's first decision and abstention codes, kept when reviewers re-draft
    # (the monitor counts abstentions by reason from these).
    first_decision: Mapped[str] = mapped_column(String(16))
    first_reasons: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImageRow(Base):
    """A study image as de-identified pixels (PNG of the decoded frame; no DICOM tags)."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    view: Mapped[str | None] = mapped_column(String(16))
    png: Mapped[bytes] = mapped_column(LargeBinary)


class ReviewRow(Base):
    """One reviewer action on a draft (label edit, text edit, sign, correction)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedbackRow(Base):
    """Why a reviewer edited or removed a drafted sentence (the sentence only as a hash)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    sentence_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SignedReportRow(Base):
    """A signed report: never updated; a correction is a new draft and a new signed row."""

    __tablename__ = "signed_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[str] = mapped_column(ForeignKey("drafts.id"), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    signed_by: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The final labels next to the encoder's proposal and the signed text.
    final_labels: Mapped[dict] = mapped_column(JSON)
    proposed: Mapped[dict | None] = mapped_column(JSON)
    report: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))


class ApiKeyRow(Base):
    """An API key's hash and scopes (never the key)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(128))
    created: Mapped[str] = mapped_column(String(40))


class AuditRow(Base):
    """One audit entry; `body` is the entry's canonical JSON, which its hash covers."""

    __tablename__ = "audit"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
