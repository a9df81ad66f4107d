"""Read the source study's identifiers from uploaded DICOM headers (an adapter: file I/O)."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence

from pydicom import dcmread

from rag.interop.meta import InstanceRef, PatientStudy, StudyMeta

_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_CHARSET = re.compile(r"[A-Z0-9 _]{0,16}")


def _uid(ds, keyword: str) -> str | None:  # ds: pydicom.Dataset
    value = str(ds.get(keyword, "") or "").strip()
    return value if len(value) <= 64 and _UID.fullmatch(value) else None


def _text(ds, keyword: str, limit: int) -> str:
    # A corrupt length field can make pydicom read the next elements into a value: such a
    # value is dropped rather than copied into a clinical document.
    value = str(ds.get(keyword, "") or "").strip()
    return value if len(value) <= limit and value.isprintable() else ""


def _charsets(ds) -> tuple[str, ...]:  # ds: pydicom.Dataset
    value = ds.get("SpecificCharacterSet", None) or ()
    terms = [value] if isinstance(value, str) else list(value)
    return tuple(t for t in (str(x).strip() for x in terms) if _CHARSET.fullmatch(t))


def study_meta_from_dicom(blobs: Sequence[bytes], image_encoder: str | None = None) -> StudyMeta:
    """Study/series/instance UIDs and patient attributes of the DICOM uploads (others skipped).

    The first DICOM file's study is the study; images of another study are left out of the
    evidence. Non-DICOM uploads give a StudyMeta with only the view count.
    """
    study: str | None = None
    refs: list[InstanceRef] = []
    patient: PatientStudy | None = None
    accession: str | None = None
    for blob in blobs:
        if blob[128:132] != b"DICM":  # the Part-10 preamble; PNG/JPEG carry no UIDs
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = dcmread(io.BytesIO(blob), stop_before_pixels=True)
            except (
                Exception
            ):  # decoding already accepted it; a header we cannot re-read adds nothing
                continue
        uid = _uid(ds, "StudyInstanceUID")
        if uid is None or (study is not None and uid != study):
            continue
        if study is None:
            study = uid
            accession = _text(ds, "AccessionNumber", 16) or None
            patient = PatientStudy(
                patient_id=_text(ds, "PatientID", 64),
                patient_name=_text(ds, "PatientName", 324),
                patient_birth_date=_text(ds, "PatientBirthDate", 8),
                patient_sex=_text(ds, "PatientSex", 16),
                study_id=_text(ds, "StudyID", 16),
                study_date=_text(ds, "StudyDate", 8),
                study_time=_text(ds, "StudyTime", 16),
                specific_character_set=_charsets(ds),
            )
        sop_class, sop, series = (
            _uid(ds, k) for k in ("SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID")
        )
        if sop_class and sop and series:
            refs.append(
                InstanceRef(
                    sop_class_uid=sop_class, sop_instance_uid=sop, series_instance_uid=series
                )
            )
    return StudyMeta(
        study_instance_uid=study,
        accession_number=accession,
        instances=tuple(refs),
        patient=patient,
        view_count=len(blobs) or None,
        image_encoder=image_encoder,
    )
