"""`radrag draft --image PATH ...`: the image path of the draft command."""

from __future__ import annotations

from pathlib import Path

from rag.cli.common import emit_report, fail
from rag.config import get_settings


def draft_images(
    paths: list[Path],
    indication: str | None,
    prior_report: str | None,
    as_json: bool,
    fmt: str = "text",
    out: Path | None = None,
) -> None:
    """Decode, encode and draft; exit 0 drafted, 3 abstained, 2 bad input, 1 not ready."""
    from rag.adapters.hf_image_encoder import EncoderLoadError
    from rag.adapters.image_io import ImageDecodeError, decode_image
    from rag.api.image_schemas import ImageReportResponse
    from rag.imaging_pipeline import draft_from_images
    from rag.kb.store import KBError
    from rag.services import build_services

    settings = get_settings()
    if len(paths) > settings.max_images:
        raise fail(f"--image: at most {settings.max_images} images per study")
    decoded, blobs = [], []
    for i, p in enumerate(paths):
        if not p.is_file():
            raise fail(f"--image[{i}]: {p} is not a readable file")
        if p.stat().st_size > settings.max_image_bytes:
            raise fail(f"--image[{i}]: file exceeds {settings.max_image_bytes} bytes")
        blobs.append(p.read_bytes())
        try:
            decoded.append(decode_image(blobs[-1], max_pixels=settings.max_image_pixels))
        except ImageDecodeError as exc:
            raise fail(f"--image[{i}]: {exc.message}") from None
    svc = build_services(settings)
    try:
        result, encoding = draft_from_images(svc, decoded, indication, prior_report)
    except (KBError, EncoderLoadError) as exc:
        raise fail(str(exc), code=1) from None
    if fmt in ("fhir", "dicom-sr"):
        from rag.cli.export import emit_export
        from rag.interop.dicom_meta import study_meta_from_dicom

        emit_export(fmt, result, study_meta_from_dicom(blobs, encoding.encoder), out)
    resp = ImageReportResponse.of_images(result, encoding)
    emit_report(resp, as_json)
