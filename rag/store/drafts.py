"""The draft repository: studies, draft versions, images, reviews, feedback and signatures.

Every write is one transaction that also chains its audit entry, so a draft and its audit
record are stored together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rag.review.models import Draft, DraftContent, DraftStatus, StudyMeta
from rag.security.audit import digest
from rag.store.audit import append_entry
from rag.store.database import Database
from rag.store.tables import DraftRow, FeedbackRow, ImageRow, ReviewRow, SignedReportRow, StudyRow


class DraftNotFound(LookupError):
    """No draft with that id."""


class DraftConflict(RuntimeError):
    """The draft cannot change (signed) or changed under the caller."""


@dataclass(frozen=True)
class Feedback:
    """Why a drafted sentence was edited or removed."""

    kind: str  # "edited" | "removed"
    reason: str
    sentence_sha256: str


def _now() -> datetime:
    return datetime.now(UTC)


def _study_meta(row: StudyRow) -> StudyMeta:
    return StudyMeta(
        study_instance_uid=row.study_instance_uid,
        accession_number=row.accession_number,
        view=row.view,
        sex=row.sex,  # type: ignore[arg-type]
        age_band=row.age_band,  # type: ignore[arg-type]
    )


def _draft(session: Session, row: DraftRow) -> Draft:
    study = session.get(StudyRow, row.study_id)
    assert study is not None  # a foreign key guarantees it
    ids = session.scalars(
        select(ImageRow.id).where(ImageRow.draft_id == row.id).order_by(ImageRow.position)
    ).all()
    return Draft(
        id=row.id,
        study=_study_meta(study),
        parent_id=row.parent_id,
        version=row.version,
        revision=row.revision,
        status=row.status,  # type: ignore[arg-type]
        source=row.source,  # type: ignore[arg-type]
        content=DraftContent.model_validate(row.content),
        created_at=row.created_at,
        updated_at=row.updated_at,
        image_ids=tuple(ids),
    )


class DraftStore:
    """Reads and writes drafts; signed drafts never change."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        study: StudyMeta,
        source: str,
        key_id: str,
        status: DraftStatus,
        content: DraftContent,
        audit: dict[str, object],
        images: list[tuple[bytes, str | None]] = (),  # type: ignore[assignment]
    ) -> tuple[Draft, dict[str, object]]:
        """Store a new study draft and its audit entry; returns both."""
        now = _now()
        draft_id = uuid.uuid4().hex
        stored = content.model_dump(mode="json")
        reasons = [r.code for r in content.abstention.reasons] if content.abstention else []
        # Core inserts on the drafting path: the ORM's unit of work would double its cost.
        with self.db.write(chain=True) as s:
            study_id = s.execute(
                insert(StudyRow).values(**study.model_dump(), created_at=now).returning(StudyRow.id)
            ).scalar_one()
            s.execute(
                insert(DraftRow).values(
                    id=draft_id,
                    study_id=study_id,
                    version=1,
                    revision=1,
                    status=status,
                    source=source,
                    key_id=key_id,
                    content=stored,
                    first_decision=status,
                    first_reasons=reasons,
                    created_at=now,
                    updated_at=now,
                )
            )
            image_ids = [
                s.execute(
                    insert(ImageRow)
                    .values(draft_id=draft_id, position=i, view=view, png=png)
                    .returning(ImageRow.id)
                ).scalar_one()
                for i, (png, view) in enumerate(images)
            ]
            entry = append_entry(s, {**audit, "draft_id": draft_id})
        draft = Draft(
            id=draft_id,
            study=study,
            parent_id=None,
            version=1,
            revision=1,
            status=status,
            source=source,
            content=content,
            created_at=now,
            updated_at=now,  # type: ignore[arg-type]
            image_ids=tuple(image_ids),
        )
        return draft, entry

    def get(self, draft_id: str) -> Draft:
        """One draft (DraftNotFound when unknown)."""
        with self.db.read() as s:
            row = s.get(DraftRow, draft_id)
            if row is None:
                raise DraftNotFound(draft_id)
            return _draft(s, row)

    def worklist(self, statuses: tuple[str, ...], limit: int = 200) -> list[Draft]:
        """Drafts in these states, oldest first (first come, first read)."""
        with self.db.read() as s:
            rows = s.scalars(
                select(DraftRow)
                .where(DraftRow.status.in_(statuses))
                .order_by(DraftRow.created_at)
                .limit(limit)
            ).all()
            return [_draft(s, r) for r in rows]

    def image(self, image_id: int) -> bytes:
        """An image's de-identified PNG."""
        with self.db.read() as s:
            row = s.get(ImageRow, image_id)
            if row is None:
                raise DraftNotFound(f"image {image_id}")
            return row.png

    def _locked(self, s: Session, draft_id: str) -> DraftRow:
        row = s.scalar(select(DraftRow).where(DraftRow.id == draft_id).with_for_update())
        if row is None:
            raise DraftNotFound(draft_id)
        if row.status == "signed":
            raise DraftConflict("the draft is signed; correct it as a new version")
        return row

    def update(
        self,
        draft_id: str,
        reviewer: str,
        action: str,
        status: DraftStatus,
        content: DraftContent,
        payload: dict[str, object],
        feedback: list[Feedback] = (),  # type: ignore[assignment]
        expected_revision: int | None = None,
    ) -> Draft:
        """Replace a draft's content after a review action (never a signed draft)."""
        with self.db.write(chain=True) as s:
            row = self._locked(s, draft_id)
            if expected_revision is not None and row.revision != expected_revision:
                raise DraftConflict(
                    f"the draft changed (revision {row.revision}, not {expected_revision})"
                )
            now = _now()
            row.status, row.content = status, content.model_dump(mode="json")
            row.revision, row.updated_at = row.revision + 1, now
            s.add(
                ReviewRow(
                    draft_id=draft_id,
                    reviewer=reviewer,
                    action=action,
                    payload=payload,
                    created_at=now,
                )
            )
            for f in feedback:
                s.add(
                    FeedbackRow(
                        draft_id=draft_id,
                        kind=f.kind,
                        reason=f.reason,
                        sentence_sha256=f.sentence_sha256,
                        created_at=now,
                    )
                )
            append_entry(
                s,
                {
                    "action": f"review_{action}",
                    "key_id": reviewer,
                    "draft_id": draft_id,
                    "decision": status,
                    "payload_sha256": digest(payload),
                },
            )
            s.flush()
            return _draft(s, row)

    def sign(self, draft_id: str, reviewer: str) -> tuple[Draft, str]:
        """Sign a draft: its report and final labels are frozen; returns it and the sha256."""
        with self.db.write(chain=True) as s:
            row = self._locked(s, draft_id)
            content = DraftContent.model_validate(row.content)
            if not content.sentences:
                raise DraftConflict("nothing to sign: the draft has no sentences")
            now = _now()
            report = {
                "text": content.report_text(),
                "sentences": [x.model_dump(mode="json") for x in content.sentences],
            }
            labels = {f.value: lab.model_dump(mode="json") for f, lab in content.labels.items()}
            sha = digest({"report": report, "labels": labels, "draft_id": draft_id})
            proposed = (
                {f.value: p.model_dump(mode="json") for f, p in content.proposed.items()}
                if content.proposed
                else None
            )
            s.add(
                SignedReportRow(
                    draft_id=draft_id,
                    study_id=row.study_id,
                    version=row.version,
                    signed_by=reviewer,
                    signed_at=now,
                    final_labels=labels,
                    proposed=proposed,
                    report=report,
                    sha256=sha,
                )
            )
            row.status, row.updated_at, row.revision = "signed", now, row.revision + 1
            s.add(
                ReviewRow(
                    draft_id=draft_id,
                    reviewer=reviewer,
                    action="signed",
                    payload={"sha256": sha},
                    created_at=now,
                )
            )
            append_entry(
                s,
                {
                    "action": "sign",
                    "key_id": reviewer,
                    "draft_id": draft_id,
                    "decision": "signed",
                    "report_sha256": sha,
                },
            )
            s.flush()
            return _draft(s, row), sha

    def correct(self, draft_id: str, reviewer: str) -> Draft:
        """Open a correction of a signed draft: a new version awaiting review."""
        with self.db.write(chain=True) as s:
            parent = s.get(DraftRow, draft_id)
            if parent is None:
                raise DraftNotFound(draft_id)
            if parent.status != "signed":
                raise DraftConflict("only a signed draft is corrected; edit this one instead")
            now = _now()
            row = DraftRow(
                id=uuid.uuid4().hex,
                study_id=parent.study_id,
                parent_id=parent.id,
                version=parent.version + 1,
                revision=1,
                status="awaiting_review",
                source=parent.source,
                key_id=reviewer,
                content=parent.content,
                first_decision="correction",
                first_reasons=[],
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            for img in s.scalars(select(ImageRow).where(ImageRow.draft_id == parent.id)):
                s.add(ImageRow(draft_id=row.id, position=img.position, view=img.view, png=img.png))
            append_entry(
                s,
                {
                    "action": "correct",
                    "key_id": reviewer,
                    "draft_id": row.id,
                    "parent_id": parent.id,
                    "decision": "awaiting_review",
                },
            )
            s.flush()
            return _draft(s, row)

    def signed_report(self, draft_id: str) -> dict | None:
        """The signed record of a draft, or None."""
        with self.db.read() as s:
            row = s.scalar(select(SignedReportRow).where(SignedReportRow.draft_id == draft_id))
            if row is None:
                return None
            return {
                "draft_id": row.draft_id,
                "version": row.version,
                "signed_by": row.signed_by,
                "signed_at": row.signed_at.isoformat(),
                "sha256": row.sha256,
                "report": row.report,
                "final_labels": row.final_labels,
            }
