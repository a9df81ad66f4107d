"""A drafting result as a DICOM Comprehensive SR (TID 2000 layout), built with highdicom.

Content tree (root `Diagnostic Imaging Report`, LOINC 18748-4, template 2000):
- HAS OBS CONTEXT: the device observer (radrag, its version and the generator model).
  SoftwareVersions lists radrag, KB, embedder, generator, model, prompt and encoder versions.
- CONTAINS `Findings` (DCM 121070): one TEXT `Finding` (DCM 121071) per verified findings
  sentence, then one CODE item per finding the report asserts: concept name = the finding,
  value = present/absent/uncertain (private scheme 99RADRAG, see rag.interop.codes).
- CONTAINS `Impressions` (DCM 121072): one TEXT `Impression` (DCM 121073) per sentence.

A draft is CompletionFlag PARTIAL, VerificationFlag UNVERIFIED and PreliminaryFlag
PRELIMINARY; a signed one COMPLETE/VERIFIED/FINAL. When the draft came from DICOM images the
SR joins their study (same StudyInstanceUID, patient and study attributes) and lists each
source image in CurrentRequestedProcedureEvidenceSequence; otherwise it opens a new study.
An abstention has no report to encode: `build_sr` raises NothingToEncode.
"""

from __future__ import annotations

import hashlib
import io

import highdicom as hd
from pydicom import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.sr.codedict import codes
from pydicom.uid import UID

from rag.domain import ReportResult
from rag.interop.claims import claims
from rag.interop.codes import DICOM_SCHEME, STATE_DISPLAY, finding_display
from rag.interop.meta import StudyMeta

DICOM_MIME = "application/dicom"
# pydicom's UID root for generated UIDs; ours are derived from the content (reproducible).
_UID_ROOT = "1.2.826.0.1.3680043.8.498."
_DCM = "DCM"


class NothingToEncode(ValueError):
    """The result is an abstention: there is no verified report to put in an SR."""


def _uid(seed: str, name: str) -> UID:
    digits = str(int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest(), 16))
    return UID(_UID_ROOT + digits[: 64 - len(_UID_ROOT)].lstrip("0"))


def _code(value: str, scheme: str, meaning: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


def _evidence(meta: StudyMeta, seed: str) -> list[Dataset]:
    """Source images as the minimal datasets highdicom reads (UIDs, patient, study)."""
    p = meta.patient
    refs = meta.instances or (None,)
    out = []
    for ref in refs:
        ds = Dataset()
        ds.StudyInstanceUID = meta.study_instance_uid or _uid(seed, "study")
        ds.SeriesInstanceUID = ref.series_instance_uid if ref else _uid(seed, "source-series")
        ds.SOPInstanceUID = ref.sop_instance_uid if ref else _uid(seed, "source")
        ds.SOPClassUID = ref.sop_class_uid if ref else "1.2.840.10008.5.1.4.1.1.1.1"
        ds.PatientID = p.patient_id if p else ""
        ds.PatientName = p.patient_name if p else ""
        ds.PatientBirthDate = p.patient_birth_date if p else ""
        ds.PatientSex = p.patient_sex if p else ""
        ds.StudyID = p.study_id if p else ""
        ds.StudyDate = p.study_date if p else ""
        ds.StudyTime = p.study_time if p else ""
        ds.AccessionNumber = meta.accession_number or ""
        ds.ReferringPhysicianName = ""
        if p and p.specific_character_set:
            ds.SpecificCharacterSet = list(p.specific_character_set)
        out.append(ds)
    return out


def _content(result: ReportResult, seed: str) -> hd.sr.ContainerContentItem:
    assert result.report is not None
    prov = result.provenance
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=_uid(seed, "device"),
            name="radrag",
            model_name=prov.model or prov.generator,
            serial_number=prov.radrag_version,
        ),
    )
    findings = hd.sr.ContainerContentItem(
        name=_code("121070", _DCM, "Findings"), relationship_type="CONTAINS"
    )
    items: list[hd.sr.ContentItem] = [
        hd.sr.TextContentItem(
            name=_code("121071", _DCM, "Finding"), value=s.text, relationship_type="CONTAINS"
        )
        for s in result.report.findings
    ]
    items += [
        hd.sr.CodeContentItem(
            name=_code(c.finding.value, DICOM_SCHEME, finding_display(c.finding)),
            value=_code(c.state.value, DICOM_SCHEME, STATE_DISPLAY[c.state]),
            relationship_type="CONTAINS",
        )
        for c in claims(result.report)
    ]
    findings.ContentSequence = hd.sr.ContentSequence(items)
    impressions = hd.sr.ContainerContentItem(
        name=_code("121072", _DCM, "Impressions"), relationship_type="CONTAINS"
    )
    impressions.ContentSequence = hd.sr.ContentSequence(
        [
            hd.sr.TextContentItem(
                name=_code("121073", _DCM, "Impression"), value=s.text, relationship_type="CONTAINS"
            )
            for s in result.report.impression
        ]
    )
    root = hd.sr.ContainerContentItem(
        name=hd.sr.CodedConcept(
            value="18748-4", scheme_designator="LN", meaning="Diagnostic Imaging Report"
        ),
        template_id="2000",
    )
    root.ContentSequence = hd.sr.ContentSequence([*observer, findings, impressions])
    return root


def build_sr(result: ReportResult, meta: StudyMeta | None = None) -> Dataset:
    """The result as a Comprehensive SR dataset (raises NothingToEncode for an abstention)."""
    if result.status != "drafted" or result.report is None:
        raise NothingToEncode("an abstention has no verified report to encode as DICOM SR")
    meta = meta or StudyMeta()
    seed = hashlib.sha256((result.model_dump_json() + meta.model_dump_json()).encode()).hexdigest()
    sr = hd.sr.ComprehensiveSR(
        evidence=_evidence(meta, seed),
        content=_content(result, seed),
        series_instance_uid=_uid(seed, "series"),
        series_number=990,
        sop_instance_uid=_uid(seed, "sr"),
        instance_number=1,
        manufacturer="radrag",
        is_complete=meta.signed,
        is_final=meta.signed,
        is_verified=meta.signed,
        verifying_observer_name=(meta.signed_by or "Unknown^Radiologist") if meta.signed else None,
        verifying_organization="Unknown" if meta.signed else None,
        series_description="radrag draft report" if not meta.signed else "radrag report",
        content_date=meta.issued.date(),
        content_time=meta.issued.time(),
    )
    # General Equipment: what produced the text, as the FHIR Device's versions (LO, 64 each).
    p = result.provenance
    parts = {
        "radrag": p.radrag_version,
        "kb": p.kb_version,
        "embedder": p.embedder,
        "generator": p.generator,
        "model": p.model,
        "prompt": p.prompt_version,
        "image-encoder": meta.image_encoder,
    }
    sr.SoftwareVersions = [f"{k} {v}"[:64] for k, v in parts.items() if v]
    if not meta.instances:
        # No source image: the placeholder evidence is not a real instance to reference.
        del sr.CurrentRequestedProcedureEvidenceSequence
    return sr


def sr_bytes(result: ReportResult, meta: StudyMeta | None = None) -> bytes:
    """The SR as a DICOM Part-10 file."""
    buf = io.BytesIO()
    dcmwrite(buf, build_sr(result, meta), enforce_file_format=True)
    return buf.getvalue()
