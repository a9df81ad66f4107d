"""Patient-free study metadata from a request, with 422s that name the bad field."""

from __future__ import annotations

from fastapi import HTTPException
from pydantic import ValidationError

from rag.api.schemas import describe_errors
from rag.review.models import StudyMeta

FIELDS = ("study_instance_uid", "accession_number", "view", "sex", "age_band")


def study_meta(values: dict[str, object]) -> StudyMeta:
    """A StudyMeta from the request's metadata fields (422 naming the field when invalid)."""
    try:
        return StudyMeta(**{k: values.get(k) for k in FIELDS if values.get(k) not in (None, "")})
    except ValidationError as exc:
        first = describe_errors(exc.errors())[0]
        raise HTTPException(
            status_code=422, detail={"field": first["field"], "message": first["message"]}
        ) from None
