"""`radrag encoder train|calibrate|evaluate`: the embedded image encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from rag.cli.common import fail

app = typer.Typer(
    help="Train, calibrate and evaluate the embedded image encoder.", no_args_is_help=True
)

DataOpt = Annotated[
    Path, typer.Option("--data", help="a labelled folder: nih1000-style or a site labels.csv")
]
KindOpt = Annotated[
    str,
    typer.Option(
        help="auto (encoder.json, else transformers), chexnet, torchxrayvision, efficientnet-lite0"
    ),
]


def default_checkpoint() -> Path:
    """The committed checkpoint folder."""
    from rag.config import DEFAULT_IMAGE_ENCODER

    return Path(DEFAULT_IMAGE_ENCODER)


def _ood_set(assets: Path, data: Path | None = None) -> dict[str, list]:
    """Out-of-distribution images by source: paediatric JPEGs, non-chest, lateral-like."""
    from rag.adapters.image_io import decode_image
    from rag.adapters.labelled_images import load_image, open_folder
    from rag.adapters.registry_images import pneumonia_jpegs
    from rag.encoder.ood_images import lateral_like, synthetic_non_chest

    out = {
        "paediatric_jpegs": [decode_image(p.read_bytes()) for p in pneumonia_jpegs(assets)],
        "synthetic_non_chest": synthetic_non_chest(),
    }
    if data is not None:
        # From certify patients: never the test images they are compared against.
        folder = open_folder(data)
        recs = folder.split.select(folder.records, "certify")[:16]
        out["lateral_like"] = lateral_like([load_image(r) for r in recs])
    return out


def _check(data: Path) -> None:
    if not (data / "labels.csv").is_file():
        raise fail(f"--data: {data} has no labels.csv")


def _load(checkpoint: Path | None, kind: str):
    """The encoder of a folder, loaded the way the service loads it."""
    from rag.adapters.image_encoders import EncoderLoadError, load_image_encoder
    from rag.config import get_settings

    s = get_settings()
    try:
        return load_image_encoder(
            checkpoint or default_checkpoint(), kind, s.image_encoder_device, s.image_encoder_dtype
        )
    except EncoderLoadError as exc:
        raise fail(f"--checkpoint: {exc}") from None


Backbone = Literal["efficientnet-lite0", "tiny-resnet"]


@app.command()
def train(
    data: DataOpt,
    out: Annotated[Path | None, typer.Option(help="checkpoint folder")] = None,
    backbone: Annotated[
        Backbone,
        typer.Option(help="efficientnet-lite0 (ImageNet, fine-tuned) or tiny-resnet (scratch)"),
    ] = "efficientnet-lite0",
    epochs: Annotated[int | None, typer.Option(min=1, help="default 6 (lite0) / 40")] = None,
    limit: Annotated[int | None, typer.Option(min=8, help="use only N training images")] = None,
    seed: int = 0,
    extra: Annotated[
        list[Path] | None,
        typer.Option(help="NIH-style folder whose train-split patients join training"),
    ] = None,
    width: Annotated[int, typer.Option(min=4, max=128, help="tiny-resnet channels")] = 16,
    image_size: Annotated[int, typer.Option(min=32, max=512, help="lite0 input size")] = 96,
    pretrained: Annotated[
        Path | None, typer.Option(help="lite0 ImageNet state dict (default: the wheel's)")
    ] = None,
) -> None:
    """Train on the patient-level train split, calibrate, score test, write a model card."""
    from rag.adapters.nih_images import by_split, read_records
    from rag.config import get_settings
    from rag.encoder.card import write_card
    from rag.encoder.evaluate import calibrate, evaluate

    _check(data)
    if pretrained is not None and not pretrained.is_file():
        raise fail(f"--pretrained: {pretrained} is not a file")
    target = out or default_checkpoint()
    cmd = f"radrag encoder train --data {data} --backbone {backbone} --seed {seed}"
    cmd += "".join(f" --extra {p}" for p in extra or ())
    if backbone == "efficientnet-lite0":
        from rag.adapters.imagenet_weights import PretrainedMissing
        from rag.encoder.finetune import FinetuneConfig, finetune

        cfg = FinetuneConfig(
            epochs=epochs or 6,
            seed=seed,
            limit=limit,
            extra=tuple(extra or ()),
            image_size=image_size,
            pretrained=pretrained,
        )
        try:
            info = finetune(data, target, cfg)
        except PretrainedMissing as exc:
            raise fail(f"--pretrained: {exc}") from None
        cmd += f" --epochs {cfg.epochs} --image-size {image_size}"
    else:
        from rag.encoder.train import TrainConfig
        from rag.encoder.train import train as run_train

        tcfg = TrainConfig(
            epochs=epochs or 40, limit=limit, seed=seed, extra=tuple(extra or ()), width=width
        )
        info = run_train(data, target, tcfg)
        cmd += f" --epochs {tcfg.epochs} --width {width}"
    info["split_sizes"] = {k: len(v) for k, v in by_split(read_records(data)).items()}
    kind = "auto" if backbone == "efficientnet-lite0" else "transformers"
    calibrate(_load(target, kind), data)
    metrics = evaluate(_load(target, kind), data, _ood_set(get_settings().assets_dir, data))
    write_card(target, info, metrics, cmd + (f" --limit {limit}" if limit else ""))
    typer.echo(json.dumps({"train": info, "test": metrics}, indent=2))


@app.command()
def ensemble(
    data: DataOpt,
    out: Annotated[Path, typer.Option(help="the ensemble folder to write")],
    member: Annotated[list[Path], typer.Option(help="a member encoder folder (repeat)")],
) -> None:
    """Combine encoder folders of any kinds into one `ensemble` folder (then calibrate it)."""
    from rag.adapters.image_encoders import EncoderLoadError
    from rag.encoder.ensemble import build_ensemble

    _check(data)
    if len(member) < 2:
        raise fail("--member: an ensemble needs at least two members")
    if len({m.name for m in member}) != len(member):
        raise fail("--member: member folder names must differ")
    for m in member:
        if not m.is_dir():
            raise fail(f"--member: {m} is not a folder")
    try:
        info = build_ensemble(member, data, out)
    except EncoderLoadError as exc:
        raise fail(f"--member: {exc}") from None
    except ValueError as exc:
        raise fail(f"--data: {exc}") from None
    typer.echo(json.dumps(info, indent=2))


@app.command("calibrate")
def calibrate_cmd(
    data: DataOpt,
    checkpoint: Annotated[Path | None, typer.Option()] = None,
    kind: KindOpt = "auto",
) -> None:
    """Fit Platt scaling, bands and the OOD model on the calibrate patients; record the split."""
    from rag.encoder.evaluate import calibrate

    _check(data)
    try:
        res = calibrate(_load(checkpoint, kind), data)
    except ValueError as exc:
        raise fail(f"--data: {exc}") from None
    typer.echo(json.dumps(res, indent=2))


@app.command()
def evaluate(
    data: DataOpt,
    checkpoint: Annotated[Path | None, typer.Option()] = None,
    kind: KindOpt = "auto",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the held-out test patients: AUROC (bootstrap interval), ECE and OOD AUROC."""
    from rag.config import get_settings
    from rag.encoder.evaluate import evaluate as run_eval

    _check(data)
    try:
        metrics = run_eval(_load(checkpoint, kind), data, _ood_set(get_settings().assets_dir, data))
    except ValueError as exc:
        raise fail(f"--data: {exc}") from None
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
    else:
        for k, v in metrics.items():
            typer.echo(f"{k}: {v}")
