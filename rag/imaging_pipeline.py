"""Images -> calibrated label set (or an OOD abstention) -> the report pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from rag import __version__
from rag.domain import (
    Abstention,
    DecodedImage,
    DraftRequest,
    ImageEncoding,
    Provenance,
    ReportResult,
)
from rag.kb.store import KBError
from rag.ports import ImageEncoder
from rag.services import Services
from rag.stages.encode import combine, label_set, ood_abstention


def encode_study(encoder: ImageEncoder, images: Sequence[DecodedImage]) -> ImageEncoding:
    """Encode every image of a study and combine them."""
    many = getattr(encoder, "encode_many", None)
    scores = many(images) if many else [encoder.encode(im) for im in images]
    return combine(scores, [im.view_position for im in images])


def draft_from_images(
    services: Services,
    images: Sequence[DecodedImage],
    indication: str | None = None,
    prior_report: str | None = None,
) -> tuple[ReportResult, ImageEncoding]:
    """Draft from images; an out-of-distribution study abstains before any text is drafted."""
    encoder = services.get_image_encoder()
    encoding = encode_study(encoder, images)
    reason = ood_abstention(encoding)
    if reason is None:
        request = DraftRequest(
            labels=label_set(encoding), indication=indication, prior_report=prior_report
        )
        return services.pipeline.draft(request), encoding
    try:
        kb_version = services.kb.get().version
    except KBError:
        kb_version = "not loaded"
    provenance = Provenance(
        kb_version=kb_version,
        embedder=services.embedder.id,
        generator=services.pipeline.generator.name,
        radrag_version=__version__,
    )
    result = ReportResult(
        status="abstained", abstention=Abstention(reasons=(reason,)), provenance=provenance
    )
    return result, encoding
