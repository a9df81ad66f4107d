"""Fetch data files shipped inside PyPI wheels, checksum-pinned, cached on disk."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# IU X-ray (Open-i) reports, CC BY-NC-ND 4.0, carried by the torchxrayvision wheel.
IU_WHEEL = ("torchxrayvision", "1.5.7")
IU_MEMBER = "torchxrayvision/data/NLMCXR_reports.tgz"
IU_SHA256 = "8fb6de7eec73d8c3665067ad4bb003ccd57f971ae316d2642e1627ac7268667a"


class AssetError(RuntimeError):
    """A registry asset could not be fetched or failed its checksum."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download_wheel(name: str, version: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(dest),
        f"{name}=={version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise AssetError(f"pip download {name}=={version} failed: {tail[0]}")
    return wheels[0]


def iu_reports_dir(assets_dir: Path) -> Path:
    """A folder of IU X-ray report XML files, fetched and verified on first use."""
    out = assets_dir / "iu_xray" / "ecgen-radiology"
    if out.is_dir() and any(out.glob("*.xml")):
        return out
    tgz = assets_dir / "iu_xray" / "NLMCXR_reports.tgz"
    if not tgz.exists() or sha256_file(tgz) != IU_SHA256:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _download_wheel(*IU_WHEEL, Path(tmp))
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(IU_MEMBER)
        tgz.parent.mkdir(parents=True, exist_ok=True)
        part = tgz.with_suffix(".part")
        part.write_bytes(data)
        part.replace(tgz)
    digest = sha256_file(tgz)
    if digest != IU_SHA256:
        raise AssetError(f"{tgz}: sha256 {digest} does not match the pinned {IU_SHA256}")
    staging = Path(tempfile.mkdtemp(dir=tgz.parent))
    with tarfile.open(tgz) as tf:
        tf.extractall(staging, filter="data")
    (staging / "ecgen-radiology").replace(out)
    staging.rmdir()
    return out
