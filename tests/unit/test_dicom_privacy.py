"""DICOM patient and institution tags never reach logs, error messages, responses or the
audit trail: uploads through POST /v1/reports/images carry planted markers, accepted and
refused, and every place the service writes to is searched for them."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import warnings

import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000
from sqlalchemy import select

from rag.api.app import create_app
from rag.domain import Finding
from rag.services import Services
from rag.store.tables import AuditRow
from tests.dicom_factory import gradient, make_dicom
from tests.image_fakes import FakeImageEncoder

pytestmark = pytest.mark.unit

MARKERS = {
    "PatientName": "PNMARK7731^JANE",
    "PatientID": "PIDMARK4402",
    "InstitutionName": "INSTMARK9915 GENERAL",
    "ReferringPhysicianName": "REFMARK2268^JOHN",
}
# What is searched for: the distinctive part of each value, case-insensitively.
NEEDLES = ("pnmark7731", "jane", "pidmark4402", "instmark9915", "refmark2268")


def _tagged(**kwargs: object) -> bytes:
    return make_dicom(gradient(), tags=MARKERS, **kwargs)  # type: ignore[arg-type]


def _modality_swallows_patient_tags() -> bytes:
    """A corrupt length on Modality: its value runs on over the patient elements."""
    data = bytearray(_tagged())
    at = data.index(b"\x08\x00\x60\x00CS")  # (0008,0060) Modality, explicit VR little endian
    value_start = at + 8
    end = data.index(MARKERS["PatientID"].encode()) + len(MARKERS["PatientID"]) + 1
    data[at + 6 : at + 8] = (end - value_start).to_bytes(2, "little")
    return bytes(data)


def _undecodable_pixels() -> bytes:
    """JPEG 2000 declared, garbage encapsulated: the decoder fails (and pydicom logs it)."""
    ds = dcmread(io.BytesIO(_tagged()))
    ds.file_meta.TransferSyntaxUID = JPEG2000
    ds.PixelData = encapsulate([b"\x00not a codestream" * 8])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _patient_name_as_character_set() -> bytes:
    """A value read as Specific Character Set (pydicom quotes unknown ones in warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom complains while writing it, here in the test
        charset = {"SpecificCharacterSet": MARKERS["PatientName"]}
        return make_dicom(gradient(), tags={**MARKERS, **charset})


def _cut_after_patient_tags() -> bytes:
    data = _tagged()
    return data[: data.index(MARKERS["PatientID"].encode()) + 16]


UPLOADS = [
    ("accepted", _tagged, 200),
    ("ct_modality", lambda: _tagged(modality="CT"), 422),
    ("colour", lambda: _tagged(photometric="RGB"), 422),
    ("corrupt_length", _modality_swallows_patient_tags, 400),
    ("name_as_character_set", _patient_name_as_character_set, 200),
    ("undecodable_pixels", _undecodable_pixels, 415),
    ("truncated_pixels", lambda: _tagged()[:-1000], 400),
    ("cut_header", _cut_after_patient_tags, 415),
]


@pytest.fixture
def client(tiny_services: Services):
    encoder = FakeImageEncoder({Finding.cardiomegaly: 0.9, Finding.pleural_effusion: 0.05})
    svc = dataclasses.replace(tiny_services, image_encoder=encoder)
    with TestClient(create_app(services=svc)) as c:
        yield c


def _service_log(caplog: pytest.LogCaptureFixture) -> str:
    """The records the service's handlers would receive (formatted, tracebacks included).

    caplog also listens on loggers that do not propagate (pydicom's, on purpose), whose
    records never reach the root logger's handlers in the running service.
    """

    def reaches_root(name: str) -> bool:
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None and logger.parent is not None:
            if not logger.propagate:
                return False
            logger = logger.parent
        return True

    return "\n".join(caplog.handler.format(r) for r in caplog.records if reaches_root(r.name))


def _leaks(text: str) -> list[str]:
    low = text.lower()
    return [n for n in NEEDLES if n in low]


@pytest.mark.parametrize(("make", "status"), [u[1:] for u in UPLOADS], ids=[u[0] for u in UPLOADS])
def test_dicom_patient_tags_reach_no_log_message_or_audit_record(
    client: TestClient,
    tiny_services: Services,
    caplog: pytest.LogCaptureFixture,
    make,
    status: int,
) -> None:
    data = make()
    # The markers really travel in the upload (what survives of the header, at least).
    assert b"PIDMARK4402" in data and b"PNMARK7731" in data
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="pydicom")
    caplog.clear()  # from here on: only what the service logs
    # Recorded under the filters the service runs with (warnings it would print).
    with warnings.catch_warnings(record=True) as caught:
        r = client.post(
            "/v1/reports/images",
            files=[("images", ("study.dcm", data, "application/dicom"))],
            data={"indication": "Cough."},
        )
    assert not _leaks(r.text), r.text  # the response, error message included
    log = _service_log(caplog)
    assert not _leaks(log), log
    assert r.status_code == status, r.text
    assert not _leaks(" ".join(str(w.message) for w in caught))
    # Everything the service wrote under its home: the audit trail above all.
    written = [p for p in tiny_services.settings.home.rglob("*") if p.is_file()]
    for path in written:
        assert not _leaks(path.read_text(errors="replace")), path
    if status == 200:
        # Not vacuous: the accepted study was logged and audited.
        assert "draft_images seq=" in log
        with tiny_services.db.read() as s:  # type: ignore[union-attr]
            audit = s.scalars(select(AuditRow.body)).all()
        assert [json.loads(body)["action"] for body in audit] == ["draft_images"]
    else:
        assert r.json()["detail"]["field"] == "images[0]"
