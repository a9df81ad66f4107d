"""Images -> calibrated label set (or an OOD abstention) -> the report pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from rag import __version__
from rag.domain import (
    Abstention,
    AbstentionReason,
    DecodedImage,
    DraftRequest,
    ImageEncoding,
    LabelSet,
    Provenance,
    ReportResult,
)
from rag.kb.store import KBError
from rag.observability.tracing import stage_span
from rag.ports import ImageEncoder
from rag.services import Services
from rag.stages.confidence import stated_confidence
from rag.stages.encode import combine, label_set, ood_abstention


def encode_study(encoder: ImageEncoder, images: Sequence[DecodedImage]) -> ImageEncoding:
    """Encode every image of a study and combine them."""
    many = getattr(encoder, "encode_many", None)
    scores = many(images) if many else [encoder.encode(im) for im in images]
    return combine(scores, [im.view_position for im in images])


ROLES = {
    "calibration.json": "calibration",
    "ood.json": "out-of-distribution model",
    "guard_calibration.json": "certification",
}
CERTIFY = "RADRAG_IMAGE_ENCODER=FOLDER radrag guard calibrate --data DIR"


def not_ready(encoder: ImageEncoder) -> AbstentionReason | None:
    """Fail closed: an encoder without calibration, OOD model and certification never drafts."""
    missing = tuple(getattr(encoder, "missing", (("encoder files", "see the README"),)))
    if not missing:
        return None
    files = ", ".join(f"{name} ({ROLES.get(name, 'required')})" for name, _ in missing)
    commands = "; then ".join(dict.fromkeys(how for _, how in missing))
    return AbstentionReason(
        code="encoder_not_ready",
        message=f"the image encoder {encoder.id} lacks {files}; it may not draft without them",
        suggestion=f"produce them with: {commands}",
    )


def uncertified(calibration: dict | None, labels: LabelSet) -> AbstentionReason | None:
    """Abstain unless the encoder's drafts are certified at this confidence.

    `radrag guard calibrate` writes the encoder's guard_calibration.json: the confidence
    threshold Learn-then-Test certified (risk <= alpha), or none when no threshold could be.
    Without that file the image path fails closed.
    """
    if not calibration:
        return AbstentionReason(
            code="encoder_not_certified",
            message="the image encoder has no certification (guard_calibration.json)",
            suggestion=f"certify it on labelled images: {CERTIFY}",
        )
    alpha, risk = calibration["alpha"], calibration["risk_without_threshold"]
    if not calibration["certified"]:
        return AbstentionReason(
            code="risk_not_certified",
            message=f"drafts from this image encoder could not be certified at risk <= {alpha}"
            f" on its certify patients (measured risk {risk:.2f}); its label set is not trusted",
            suggestion="have a radiologist read the images, or send a reviewed label set",
        )
    score = stated_confidence(labels)
    if score is not None and score < calibration["threshold"]:
        return AbstentionReason(
            code="low_image_confidence",
            message=f"encoder confidence {score:.2f} is below the certified threshold "
            f"{calibration['threshold']}",
            suggestion="a lateral view or a radiologist's read would help",
        )
    return None


def image_gate(
    encoding: ImageEncoding, calibration: dict | None, *, lift_certification: bool = False
) -> AbstentionReason | None:
    """Why the image path abstains before any text is drafted (OOD, uncertified), or None.

    Evaluation runs call this too, so they measure the gate the service applies;
    `lift_certification` is for research runs only (never the service).
    """
    if encoding.ood_threshold is None:
        return AbstentionReason(
            code="encoder_not_ready",
            message="the image encoder has no out-of-distribution model (ood.json)",
            suggestion="produce it with: radrag encoder calibrate --data DIR --checkpoint FOLDER",
        )
    if ood := ood_abstention(encoding):
        return ood
    return None if lift_certification else uncertified(calibration, label_set(encoding))


def draft_from_images(
    services: Services,
    images: Sequence[DecodedImage],
    indication: str | None = None,
    prior_report: str | None = None,
) -> tuple[ReportResult, ImageEncoding]:
    """Draft from images; an out-of-distribution study abstains before any text is drafted."""
    with stage_span("encode", images=len(images)):
        encoder = services.get_image_encoder()
        encoding = encode_study(encoder, images)
    reason = not_ready(encoder) or image_gate(encoding, encoder.guard_calibration)
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
