"""Real chest X-ray JPEGs carried by a PyPI wheel: test fixtures and OOD evaluation."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

from rag.adapters.registry_assets import AssetError, _download_wheel

# Paediatric chest X-rays (Guangzhou) in pneumonia-model-package==0.3.0: a source the
# encoder never saw, so they double as "foreign source" out-of-distribution images.
PNEUMONIA_WHEEL = ("pneumonia-model-package", "0.3.0")
PNEUMONIA_PREFIX = "pneumonia_model_package/datasets/pneumonia-data/val/"
# sha256 over "name:sha256\n" of the 16 files, sorted by name.
PNEUMONIA_SET_SHA256 = "8302574e87e4aa2f3f100a16b17c065f4b181f789900b62bb50dad136b65ff01"


def _set_digest(folder: Path) -> str:
    lines = [
        f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
        for p in sorted(folder.glob("*.jpeg"))
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def pneumonia_jpegs(assets_dir: Path) -> list[Path]:
    """The 16 JPEGs (8 normal, 8 pneumonia), fetched once and checksum-verified."""
    out = assets_dir / "pneumonia_val"
    if not (out.is_dir() and _set_digest(out) == PNEUMONIA_SET_SHA256):
        assets_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=assets_dir))
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _download_wheel(*PNEUMONIA_WHEEL, Path(tmp))
            with zipfile.ZipFile(wheel) as zf:
                for name in zf.namelist():
                    if name.startswith(PNEUMONIA_PREFIX) and name.endswith(".jpeg"):
                        (staging / Path(name).name).write_bytes(zf.read(name))
        digest = _set_digest(staging)
        if digest != PNEUMONIA_SET_SHA256:
            raise AssetError(f"pneumonia JPEGs: sha256 {digest} != pinned {PNEUMONIA_SET_SHA256}")
        if out.exists():
            for p in out.iterdir():
                p.unlink()
            out.rmdir()
        staging.replace(out)
    return sorted(out.glob("*.jpeg"))
