"""`radrag draft --image`: bad inputs fail with one line and exit 2 before anything loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.dicom_factory import gradient, make_dicom

pytestmark = pytest.mark.unit


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["draft", *args])
    return r.exit_code, r.output


def test_labels_and_image_are_exclusive(tmp_path: Path) -> None:
    code, out = _run("--labels", '{"edema": "absent"}', "--image", str(tmp_path / "x.png"))
    assert code == 2 and "exactly one of --labels or --image" in out
    code, out = _run()
    assert code == 2 and "exactly one" in out


def test_missing_file(tmp_path: Path) -> None:
    code, out = _run("--image", str(tmp_path / "nope.png"))
    assert code == 2 and "--image[0]" in out and "not a readable file" in out


def test_garbage_and_ct_are_refused_naming_the_image(tmp_path: Path) -> None:
    ok = tmp_path / "ok.dcm"
    ok.write_bytes(make_dicom(gradient()))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a png" * 10)
    code, out = _run("--image", str(ok), "--image", str(junk))
    assert code == 2 and "--image[1]" in out and "unrecognised file type" in out
    ct = tmp_path / "ct.dcm"
    ct.write_bytes(make_dicom(gradient(), modality="CT"))
    code, out = _run("--image", str(ct))
    assert code == 2 and "modality CT" in out and len(out.strip().splitlines()) == 1
