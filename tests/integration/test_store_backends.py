"""The draft store's lifecycle on both backends: SQLite and a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rag.domain import FindingLabel, State
from rag.review.models import DraftContent, Proposal, ReviewSentence, StudyMeta
from rag.security.keys import hash_key
from rag.store.audit import DbAuditLog, verify_db_chain
from rag.store.database import Database
from rag.store.drafts import DraftConflict, DraftStore, Feedback
from rag.store.keys import DbKeyStore
from rag.store.monitor_queries import load_window

pytestmark = pytest.mark.integration


def _content(edited: bool = False) -> DraftContent:
    return DraftContent(
        labels={"edema": FindingLabel(state=State.present)},
        proposed={"edema": Proposal(probability=0.8, state=State.present)},
        sentences=(ReviewSentence(section="findings", text="Pulmonary edema.", origin="llm"),),
        edited=edited,
    )


def test_lifecycle_keys_and_audit(database_url: str) -> None:
    db = Database.open(database_url)
    Database.open(database_url).dispose()  # a second open (another process) migrates nothing
    store, keys = DraftStore(db), DbKeyStore(db)
    key = keys.create("rad", ["reviewer"])
    assert keys.lookup(key).scopes == ("reviewer",)  # type: ignore[union-attr]
    assert keys.lookup(key + "x") is None and keys.records()[0].hash == hash_key(key)
    meta = StudyMeta(study_instance_uid="1.2.3", sex="M", age_band="40-59", view="PA")
    d, entry = store.create(meta, "images", "modality", "awaiting_review", _content(), {"a": 1})
    assert entry["draft_id"] == d.id and d.study == meta
    d = store.update(
        d.id,
        "rad",
        "text_edited",
        "drafted",
        _content(edited=True),
        {"edits": 1},
        [Feedback("removed", "wrong_finding", "0" * 64)],
        expected_revision=1,
    )
    assert d.revision == 2 and d.status == "drafted"
    with pytest.raises(DraftConflict):
        store.update(d.id, "rad", "x", "drafted", _content(), {}, expected_revision=1)
    signed, sha = store.sign(d.id, "rad")
    assert signed.status == "signed" and store.signed_report(d.id)["sha256"] == sha  # type: ignore[index]
    with pytest.raises(DraftConflict):
        store.sign(d.id, "rad")
    fix = store.correct(d.id, "rad")
    assert fix.parent_id == d.id and fix.version == 2 and fix.status == "awaiting_review"
    assert [x.id for x in store.worklist(("awaiting_review",))] == [fix.id]
    DbAuditLog(db).append({"action": "verify"})
    now = datetime.now(UTC)
    signed_cases, drafts, feedback = load_window(db, now - timedelta(hours=1), now)
    assert len(signed_cases) == 1 and signed_cases[0].proposed == {"edema": 0.8}
    assert signed_cases[0].meta == {"sex": "M", "age_band": "40-59", "view": "PA"}
    assert [x.decision for x in drafts] == ["awaiting_review"]  # the correction is no new study
    assert feedback == [("removed", "wrong_finding")]
    ok, n, message = verify_db_chain(db)
    assert ok and n == 5, message  # create, update, sign, correct, verify; no refused write
