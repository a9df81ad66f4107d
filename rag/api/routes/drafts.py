"""/v1/drafts: the stored drafts, reviewer edits, signing and corrections."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from rag.api.deps import ServicesDep
from rag.api.draft_schemas import DraftPatch, DraftPublic, SignIn, WorklistItem
from rag.api.exports import export_response
from rag.api.schemas import validation_message
from rag.review.export import NotExportable, draft_result, export_meta
from rag.review.lifecycle import TextEdit, edit_text, flagged, relabel
from rag.services import Services
from rag.store.drafts import DraftConflict, DraftNotFound, DraftStore

router = APIRouter(tags=["drafts"])
# Row ids are 64-bit: a larger number is a 422, never a database overflow.
ImageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
WORKLIST = ("awaiting_review", "drafted", "abstained")


def store_of(svc: Services) -> DraftStore:
    """The draft store, or 404 when the service runs without persistence."""
    if svc.drafts is None:
        raise HTTPException(404, detail={"message": "drafts are not stored (RADRAG_PERSIST=false)"})
    return svc.drafts


def _reviewer(request: Request) -> str:
    return getattr(request.state, "key_id", "unknown")


async def _call(fn, *args):
    # Store errors become HTTP answers here, at the edge.
    try:
        return await run_in_threadpool(fn, *args)
    except DraftNotFound as exc:
        raise HTTPException(404, detail={"message": f"no draft {exc}"}) from None
    except DraftConflict as exc:
        raise HTTPException(409, detail={"message": str(exc)}) from None
    except IndexError as exc:
        raise HTTPException(422, detail={"field": "text_edits", "message": str(exc)}) from None


@router.get("/v1/drafts", response_model=list[WorklistItem])
async def list_drafts(
    svc: ServicesDep,
    status: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[WorklistItem]:
    """The worklist: drafts awaiting review, drafted or abstained (oldest first)."""
    wanted = tuple(status or WORKLIST)
    bad = [s for s in wanted if s not in (*WORKLIST, "signed")]
    if bad:
        raise HTTPException(422, detail={"field": "status", "message": f"unknown {bad[0]!r}"})
    drafts = await _call(store_of(svc).worklist, wanted, limit)
    return [
        WorklistItem(
            draft_id=d.id,
            status=d.status,
            version=d.version,
            source=d.source,
            study=d.study,
            created_at=d.created_at.isoformat(),
            abstention=[r.code for r in d.content.abstention.reasons]
            if d.content.abstention
            else [],
        )
        for d in drafts
    ]


@router.get("/v1/drafts/{draft_id}/{fmt}", response_class=Response)
async def export_draft(
    draft_id: str, fmt: Annotated[Literal["fhir", "dicom-sr"], Path()], svc: ServicesDep
) -> Response:
    """A stored draft as an HL7 FHIR R4 Bundle or a DICOM SR (final once signed)."""
    store = store_of(svc)
    draft = await _call(store.get, draft_id)
    try:
        result = draft_result(draft, svc.pipeline.labeler)
    except NotExportable as exc:
        raise HTTPException(status_code=409, detail={"message": str(exc)}) from None
    return export_response(fmt, result, export_meta(draft))


@router.get("/v1/drafts/{draft_id}", response_model=DraftPublic)
async def get_draft(draft_id: str, svc: ServicesDep) -> DraftPublic:
    """One draft: labels, proposal, sentences with verdicts and citations, abstention."""
    store = store_of(svc)
    draft = await _call(store.get, draft_id)
    return DraftPublic.of(draft, await _call(store.signed_report, draft_id))


def apply_patch(svc: Services, draft_id: str, patch: DraftPatch, reviewer: str):
    """Label edits first (a fresh verified draft), then sentence edits on it."""
    store = store_of(svc)
    draft = store.get(draft_id)
    if draft.status == "signed":  # refused before any re-drafting work
        raise DraftConflict("the draft is signed; correct it as a new version")
    if patch.revision is not None and patch.revision != draft.revision:
        raise DraftConflict(f"the draft changed (revision {draft.revision}, not {patch.revision})")
    labels = patch.label_set()
    if labels is not None:
        draft = relabel(svc, draft, labels, reviewer)
    if patch.text_edits:
        edits = [TextEdit(e.section, e.index, e.text, e.reason) for e in patch.text_edits]
        draft = edit_text(svc, draft, edits, reviewer)
    return draft


@router.patch("/v1/drafts/{draft_id}", response_model=DraftPublic)
async def patch_draft(
    draft_id: str, patch: DraftPatch, svc: ServicesDep, request: Request
) -> DraftPublic:
    """Apply the reviewer's label edits (re-drafted, re-verified) and text edits (verified)."""
    if patch.labels is None and not patch.text_edits:
        raise HTTPException(422, detail={"field": "body", "message": "nothing to change"})
    try:
        patch.label_set()
    except ValidationError as exc:
        raise HTTPException(
            422, detail={"field": "labels", "message": validation_message(exc)}
        ) from None
    draft = await _call(apply_patch, svc, draft_id, patch, _reviewer(request))
    return DraftPublic.of(draft)


def sign_draft_now(svc: Services, draft_id: str, acknowledge: bool, reviewer: str):
    """Sign unless reviewer sentences are flagged and not acknowledged."""
    store = store_of(svc)
    draft = store.get(draft_id)
    if flagged(draft) and not acknowledge:
        raise DraftConflict(
            f"{len(flagged(draft))} reviewer sentence(s) are flagged by the verifier; "
            "fix them or sign with acknowledge_flagged=true"
        )
    return store.sign(draft_id, reviewer)


@router.post("/v1/drafts/{draft_id}/sign", response_model=DraftPublic)
async def sign_draft(
    draft_id: str, svc: ServicesDep, request: Request, body: SignIn | None = None
) -> DraftPublic:
    """Sign the draft; it is immutable afterwards (409 on any later edit)."""
    ack = bool(body and body.acknowledge_flagged)
    draft, _ = await _call(sign_draft_now, svc, draft_id, ack, _reviewer(request))
    return DraftPublic.of(draft, await _call(store_of(svc).signed_report, draft_id))


@router.post("/v1/drafts/{draft_id}/corrections", response_model=DraftPublic, status_code=201)
async def correct_draft(draft_id: str, svc: ServicesDep, request: Request) -> DraftPublic:
    """Open a correction of a signed report: a new version, awaiting review."""
    draft = await _call(store_of(svc).correct, draft_id, _reviewer(request))
    return DraftPublic.of(draft)


@router.get("/v1/images/{image_id}.png")
async def get_image(image_id: ImageId, svc: ServicesDep) -> Response:
    """A study image's de-identified preview."""
    png = await _call(store_of(svc).image, image_id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private"})
