"""What an export needs besides the domain result: the source study and the sign-off state."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

# The DICOM UID grammar (PS3.5 9.1): digits and dots, at most 64 characters.
UID_PATTERN = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"
ACCESSION_PATTERN = r"^[\x20-\x5b\x5d-\x7e]{1,16}$"


class InstanceRef(BaseModel):
    """One source image by its DICOM identifiers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sop_class_uid: str = Field(pattern=UID_PATTERN, max_length=64)
    sop_instance_uid: str = Field(pattern=UID_PATTERN, max_length=64)
    series_instance_uid: str = Field(pattern=UID_PATTERN, max_length=64)


class PatientStudy(BaseModel):
    """Patient and study attributes copied from the source DICOM header into a DICOM SR.

    A PACS files an SR by these, so they must match the source study. They are patient data:
    never logged (repr hides them) and never sent anywhere but the export that needs them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str = Field(default="", repr=False, max_length=64)
    patient_name: str = Field(default="", repr=False, max_length=324)
    patient_birth_date: str = Field(default="", repr=False, max_length=8)
    patient_sex: str = Field(default="", repr=False, max_length=16)
    study_id: str = Field(default="", repr=False, max_length=16)
    study_date: str = Field(default="", repr=False, max_length=8)
    study_time: str = Field(default="", repr=False, max_length=16)
    # The source's character set, so names outside ASCII are written as they were read.
    specific_character_set: tuple[str, ...] = ()


class StudyMeta(BaseModel):
    """The source study (when known) and whether a radiologist has signed the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    study_instance_uid: str | None = Field(default=None, pattern=UID_PATTERN, max_length=64)
    # DICOM SH: at most 16 characters of the default repertoire, no backslash (a separator).
    accession_number: str | None = Field(default=None, pattern=ACCESSION_PATTERN)
    instances: tuple[InstanceRef, ...] = ()
    patient: PatientStudy | None = None
    # Number of images the draft came from (selects the LOINC code); None when unknown.
    view_count: int | None = Field(default=None, ge=1)
    # The image encoder that produced the label set (image requests), for provenance.
    image_encoder: str | None = None
    # A draft is preliminary/unverified until a radiologist signs it (the review workflow).
    signed: bool = False
    # The signing radiologist as a DICOM person name ("Family^Given"), when signed.
    signed_by: str | None = Field(default=None, repr=False, max_length=324)
    issued: datetime = Field(default_factory=lambda: datetime.now(UTC))
