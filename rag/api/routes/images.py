"""POST /v1/reports/images: draft from uploaded DICOM/PNG/JPEG images."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.adapters.hf_image_encoder import EncoderLoadError
from rag.adapters.image_io import ImageDecodeError, decode_image
from rag.api.audit_records import draft_record, log
from rag.api.deps import ServicesDep, reveal_rejected_text
from rag.api.exports import FormatQuery, export_response
from rag.api.image_schemas import ImageReportResponse
from rag.api.routes.metrics import record_draft as count_draft
from rag.api.schemas import MAX_TEXT, retry_after_header
from rag.api.study_meta import study_meta
from rag.domain import DecodedImage
from rag.imaging_pipeline import draft_from_images
from rag.interop.dicom_meta import study_meta_from_dicom
from rag.review.images import preview_png
from rag.review.lifecycle import record_draft
from rag.stages.encode import label_set

PATH = "/v1/reports/images"
router = APIRouter(tags=["reports"])


def _bad(status: int, field: str, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail={"field": field, "message": message})


async def _read(upload: UploadFile, field: str, limit: int) -> bytes:
    # Read one byte past the cap: enough to know it is too big, never the whole file.
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise _bad(413, field, f"file exceeds the limit of {limit} bytes")
    return data


def _decode_all(blobs: list[bytes], max_pixels: int) -> list[DecodedImage]:
    out = []
    for i, blob in enumerate(blobs):
        try:
            out.append(decode_image(blob, max_pixels=max_pixels))
        except ImageDecodeError as exc:
            raise _bad(exc.status, f"images[{i}]", exc.message) from None
        except MemoryError:
            raise _bad(413, f"images[{i}]", "image too large to decode") from None
    return out


@router.post(PATH, response_model=ImageReportResponse)
async def create_report_from_images(
    svc: ServicesDep,
    request: Request,
    response: Response,
    images: Annotated[list[UploadFile], File(description="DICOM, PNG or JPEG; one study")],
    indication: Annotated[str | None, Form(max_length=MAX_TEXT)] = None,
    prior_report: Annotated[str | None, Form(max_length=MAX_TEXT)] = None,
    study_instance_uid: Annotated[str | None, Form(max_length=64)] = None,
    accession_number: Annotated[str | None, Form(max_length=16)] = None,
    view: Annotated[str | None, Form(max_length=16)] = None,
    sex: Annotated[str | None, Form(max_length=1)] = None,
    age_band: Annotated[str | None, Form(max_length=8)] = None,
    debug_rejected_text: bool = False,
    fmt: FormatQuery = "json",
) -> ImageReportResponse | Response:
    """Encode the images, then draft a verified report or abstain with reasons."""
    reveal = reveal_rejected_text(request, debug_rejected_text)
    cfg = svc.settings
    if len(images) > cfg.max_images:
        raise _bad(422, "images", f"at most {cfg.max_images} images per study")
    meta = {"study_instance_uid": study_instance_uid, "accession_number": accession_number}
    study = study_meta({**meta, "view": view, "sex": sex, "age_band": age_band})
    t0 = time.perf_counter()
    blobs = [await _read(f, f"images[{i}]", cfg.max_image_bytes) for i, f in enumerate(images)]
    # The audit trail keeps only hashes: image bytes carry DICOM patient tags.
    inputs = {
        "images_sha256": [hashlib.sha256(b).hexdigest() for b in blobs],
        "indication": indication,
        "prior_report": prior_report,
    }
    decoded = await run_in_threadpool(_decode_all, blobs, cfg.max_image_pixels)
    # Only the export formats need the source study's UIDs (and the SR its patient module).
    exported = await run_in_threadpool(study_meta_from_dicom, blobs) if fmt != "json" else None
    del blobs
    try:
        result, encoding = await run_in_threadpool(
            draft_from_images, svc, decoded, indication, prior_report
        )
    except EncoderLoadError as exc:
        raise HTTPException(status_code=503, detail={"message": str(exc)}) from None
    ms = (time.perf_counter() - t0) * 1000
    key_id = getattr(request.state, "key_id", "unknown")
    record = draft_record(key_id, inputs, label_set(encoding), result, ms)
    record = {**record, "action": "draft_images", "encoder": encoding.encoder}
    # The review page shows the pixels only (re-encoded PNG): no DICOM tag is stored.
    views = [v for v in encoding.view_positions if v]
    if views and study.view is None:
        study = study.model_copy(update={"view": views[0]})
    draft, entry = await run_in_threadpool(
        lambda: record_draft(
            svc,
            study=study,
            source="images",
            key_id=key_id,
            labels=label_set(encoding),
            result=result,
            audit=record,
            indication=indication,
            prior_report=prior_report,
            encoding=encoding,
            images=[(preview_png(d), d.view_position) for d in decoded]
            if svc.drafts is not None
            else [],
        )
    )
    log.info(
        "draft_images seq=%s key=%s status=%s ms=%.1f", entry["seq"], key_id, result.status, ms
    )
    count_draft(request, result)
    response.headers.update(retry_after_header(result))
    if exported is not None:
        meta = exported.model_copy(update={"image_encoder": encoding.encoder})
        return export_response(fmt, result, meta)
    out = ImageReportResponse.of_images(result, encoding, reveal)
    if draft is not None:
        out = out.model_copy(update={"draft_id": draft.id, "draft_status": draft.status})
    return out
