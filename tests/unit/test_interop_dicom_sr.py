"""DICOM SR export: round-trips through pydicom with the source study's UIDs and content."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from rag.domain import DraftRequest, LabelSet, ReportResult
from rag.interop.claims import claims
from rag.interop.dicom_meta import study_meta_from_dicom
from rag.interop.dicom_sr import NothingToEncode, build_sr, sr_bytes
from rag.interop.meta import StudyMeta
from rag.services import Services
from tests.dicom_factory import gradient, make_dicom

pytestmark = pytest.mark.unit

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
LABELS = {
    "cardiomegaly": "present",
    "pleural_effusion": "absent",
}


def _draft(svc: Services, states: dict[str, str]) -> ReportResult:
    return svc.pipeline.draft(DraftRequest(labels=LabelSet.from_states(states)))


def _source(study: str, series: str, **tags: str) -> bytes:
    return make_dicom(
        gradient(),
        tags={"StudyInstanceUID": study, "SeriesInstanceUID": series, **tags},
    )


def _code(item) -> str:
    return item.ConceptNameCodeSequence[0].CodeValue


def _containers(ds) -> dict[str, list]:
    return {
        _code(i): list(i.ContentSequence) for i in ds.ContentSequence if i.ValueType == "CONTAINER"
    }


def test_sr_round_trips_with_source_uids_and_content(tiny_services: Services) -> None:
    study, series = generate_uid(), generate_uid()
    blobs = [
        _source(study, series, AccessionNumber="ACC7", PatientID="P-1"),
        _source(study, series, ViewPosition="LL"),
    ]
    meta = study_meta_from_dicom(blobs, image_encoder="fake-encoder")
    assert meta.study_instance_uid == study and len(meta.instances) == 2
    result = _draft(tiny_services, LABELS)
    assert result.status == "drafted" and result.report is not None

    ds = dcmread(io.BytesIO(sr_bytes(result, meta)))
    assert ds.SOPClassUID == COMPREHENSIVE_SR and ds.Modality == "SR"
    assert ds.StudyInstanceUID == study and ds.SeriesInstanceUID != series
    assert ds.AccessionNumber == "ACC7" and ds.PatientID == "P-1"
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "PARTIAL",
        "UNVERIFIED",
        "PRELIMINARY",
    )
    [evidence] = ds.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == study
    [ref_series] = evidence.ReferencedSeriesSequence
    assert ref_series.SeriesInstanceUID == series
    assert {r.ReferencedSOPInstanceUID for r in ref_series.ReferencedSOPSequence} == {
        i.sop_instance_uid for i in meta.instances
    }

    assert _code(ds) == "18748-4" and ds.ContentTemplateSequence[0].TemplateIdentifier == "2000"
    sections = _containers(ds)
    findings, impressions = sections["121070"], sections["121072"]
    texts = [i.TextValue for i in findings if i.ValueType == "TEXT"]
    assert texts == [s.text for s in result.report.findings]
    coded = {
        (
            i.ConceptNameCodeSequence[0].get("CodeValue")
            or i.ConceptNameCodeSequence[0].LongCodeValue
        ): i.ConceptCodeSequence[0].CodeValue
        for i in findings
        if i.ValueType == "CODE"
    }
    assert coded == {c.finding.value: c.state.value for c in claims(result.report)}
    assert [i.TextValue for i in impressions] == [s.text for s in result.report.impression]
    versions = list(ds.SoftwareVersions)
    assert f"kb {result.provenance.kb_version}" in versions
    assert "image-encoder fake-encoder" in versions


def test_signed_sr_is_complete_and_verified(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    ds = build_sr(result, StudyMeta(signed=True, signed_by="Doe^Jane"))
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "COMPLETE",
        "VERIFIED",
        "FINAL",
    )
    assert ds.VerifyingObserverSequence[0].VerifyingObserverName == "Doe^Jane"


def test_label_set_sr_opens_its_own_study_without_fake_evidence(tiny_services: Services) -> None:
    result = _draft(tiny_services, LABELS)
    ds = dcmread(io.BytesIO(sr_bytes(result)))
    assert ds.StudyInstanceUID and "CurrentRequestedProcedureEvidenceSequence" not in ds
    uid = "1.2.3.4.5"
    assert build_sr(result, StudyMeta(study_instance_uid=uid)).StudyInstanceUID == uid


def test_abstention_is_not_encoded(tiny_services: Services) -> None:
    result = _draft(tiny_services, {"fracture": "present"})
    with pytest.raises(NothingToEncode):
        build_sr(result, StudyMeta())


def test_png_uploads_carry_no_uids() -> None:
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(buf, format="PNG")
    meta = study_meta_from_dicom([buf.getvalue()])
    assert meta.study_instance_uid is None and meta.instances == () and meta.view_count == 1


def test_codes_longer_than_sixteen_characters_survive() -> None:
    from rag.domain import DraftSentence, Finding, Provenance, Report, State

    claim = {Finding.enlarged_cardiomediastinum: State.absent}
    report = Report(
        findings=(DraftSentence(text="The mediastinum is not widened.", findings=claim),),
        impression=(DraftSentence(text="Normal mediastinum.", section="impression"),),
    )
    prov = Provenance(kb_version="k", embedder="e", generator="g", radrag_version="0")
    result = ReportResult(status="drafted", report=report, provenance=prov)
    ds = dcmread(io.BytesIO(sr_bytes(result)))
    [item] = [i for i in _containers(ds)["121070"] if i.ValueType == "CODE"]
    assert item.ConceptNameCodeSequence[0].LongCodeValue == "enlarged_cardiomediastinum"
    assert item.ConceptCodeSequence[0].CodeValue == "absent"


def test_names_outside_ascii_keep_their_character_set(tiny_services: Services) -> None:
    study = generate_uid()
    blob = _source(
        study,
        generate_uid(),
        SpecificCharacterSet="ISO_IR 192",
        PatientName="Müller^Jürgen",
    )
    meta = study_meta_from_dicom([blob])
    ds = dcmread(io.BytesIO(sr_bytes(_draft(tiny_services, LABELS), meta)))
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "Müller^Jürgen" and ds.StudyInstanceUID == study
