"""Wire models of the image endpoint (the report part is the JSON endpoint's)."""

from __future__ import annotations

from pydantic import BaseModel

from rag.api.schemas import ReportResponse
from rag.domain import Finding, ImageEncoding, ReportResult, State


class FindingEstimatePublic(BaseModel):
    """A finding's calibrated probability and band."""

    probability: float
    state: State


class EncodingPublic(BaseModel):
    """What the image encoder concluded, before any text was drafted."""

    encoder: str
    findings: dict[Finding, FindingEstimatePublic]
    not_assessed: list[Finding]
    view_positions: list[str | None]
    ood_scores: list[float | None]
    ood_threshold: float | None
    out_of_distribution: bool

    @classmethod
    def of(cls, e: ImageEncoding) -> EncodingPublic:
        """From the domain encoding."""
        return cls(
            encoder=e.encoder,
            findings={
                f: FindingEstimatePublic(probability=round(v.probability, 4), state=v.state)
                for f, v in e.findings.items()
            },
            not_assessed=list(e.not_assessed),
            view_positions=list(e.view_positions),
            ood_scores=[None if s is None else round(s, 3) for s in e.ood_scores],
            ood_threshold=e.ood_threshold,
            out_of_distribution=e.out_of_distribution,
        )


class ImageReportResponse(ReportResponse):
    """POST /v1/reports/images response: the report (or abstention) and the encoding."""

    encoding: EncodingPublic

    @classmethod
    def of_images(
        cls, r: ReportResult, e: ImageEncoding, reveal_rejected: bool = False
    ) -> ImageReportResponse:
        """From a domain result and encoding."""
        base = ReportResponse.of(r, reveal_rejected)
        return cls(**base.model_dump(), encoding=EncodingPublic.of(e))
