"""What the monitor reads from the database over a time window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from rag.config import Settings
from rag.review.monitor import Bounds, DraftCase, MonitorReport, SignedCase, build_report
from rag.store.database import Database
from rag.store.tables import DraftRow, FeedbackRow, SignedReportRow, StudyRow


def _meta(study: StudyRow) -> dict[str, str | None]:
    return {"sex": study.sex, "age_band": study.age_band, "view": study.view}


def load_window(
    db: Database, since: datetime, until: datetime
) -> tuple[list[SignedCase], list[DraftCase], list[tuple[str, str]]]:
    """Signed cases, first decisions of new studies and sentence feedback in [since, until)."""
    with db.read() as s:
        signed_rows = s.execute(
            select(SignedReportRow, StudyRow, DraftRow)
            .join(StudyRow, StudyRow.id == SignedReportRow.study_id)
            .join(DraftRow, DraftRow.id == SignedReportRow.draft_id)
            .where(SignedReportRow.signed_at >= since, SignedReportRow.signed_at < until)
        ).all()
        signed = [
            SignedCase(
                proposed={f: float(v["probability"]) for f, v in sr.proposed.items()}
                if sr.proposed
                else None,
                final={f: v["state"] for f, v in sr.final_labels.items()},
                edited=bool(draft.content.get("edited")),
                meta=_meta(study),
                case_id=sr.draft_id,
                proposed_states={f: v["state"] for f, v in sr.proposed.items()}
                if sr.proposed
                else None,
                accession_number=study.accession_number,
            )
            for sr, study, draft in signed_rows
        ]
        draft_rows = s.execute(
            select(DraftRow, StudyRow)
            .join(StudyRow, StudyRow.id == DraftRow.study_id)
            .where(
                DraftRow.created_at >= since,
                DraftRow.created_at < until,
                DraftRow.parent_id.is_(None),  # corrections are not new studies
            )
        ).all()
        drafts = [
            DraftCase(decision=d.first_decision, reasons=tuple(d.first_reasons), meta=_meta(st))
            for d, st in draft_rows
        ]
        feedback = [
            (kind, reason)
            for kind, reason in s.execute(
                select(FeedbackRow.kind, FeedbackRow.reason).where(
                    FeedbackRow.created_at >= since, FeedbackRow.created_at < until
                )
            ).all()
        ]
    return signed, drafts, feedback


def monitor_report(
    settings: Settings, since: datetime, until: datetime, db: Database | None = None
) -> MonitorReport:
    """The monitor's report over [since, until) from `db` (default: the configured one)."""
    own = db is None
    db = db or Database.open(settings.db_url)
    try:
        signed, drafts, feedback = load_window(db, since, until)
    finally:
        if own:
            db.dispose()
    bounds = Bounds(
        min_auroc=settings.monitor_min_auroc,
        max_ece=settings.monitor_max_ece,
        min_acceptance=settings.monitor_min_acceptance,
        max_abstention=settings.monitor_max_abstention,
    )
    return build_report(since, until, signed, drafts, feedback, bounds)
