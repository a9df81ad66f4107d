"""`radrag encoder train|calibrate|evaluate`: the embedded image encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail

app = typer.Typer(
    help="Train, calibrate and evaluate the embedded image encoder.", no_args_is_help=True
)

DataOpt = Annotated[Path, typer.Option("--data", help="an nih1000-style folder with labels.csv")]


def default_checkpoint() -> Path:
    """The committed checkpoint folder."""
    from rag.config import DEFAULT_IMAGE_ENCODER

    return Path(DEFAULT_IMAGE_ENCODER)


def _ood_set(assets: Path) -> dict[str, list]:
    from rag.adapters.image_io import decode_image
    from rag.adapters.registry_images import pneumonia_jpegs
    from rag.encoder.ood_images import synthetic_non_chest

    return {
        "paediatric_jpegs": [decode_image(p.read_bytes()) for p in pneumonia_jpegs(assets)],
        "synthetic_non_chest": synthetic_non_chest(),
    }


def _check(data: Path) -> None:
    if not (data / "labels.csv").is_file():
        raise fail(f"--data: {data} has no labels.csv")


@app.command()
def train(
    data: DataOpt,
    out: Annotated[Path | None, typer.Option(help="checkpoint folder")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 40,
    limit: Annotated[int | None, typer.Option(min=8, help="use only N training images")] = None,
    seed: int = 0,
) -> None:
    """Train on the patient-level train split, calibrate on valid, score test, write a card."""
    from rag.adapters.nih_images import by_split, read_records
    from rag.config import get_settings
    from rag.encoder.card import write_card
    from rag.encoder.evaluate import calibrate, evaluate
    from rag.encoder.train import TrainConfig
    from rag.encoder.train import train as run_train

    _check(data)
    target = out or default_checkpoint()
    info = run_train(data, target, TrainConfig(epochs=epochs, limit=limit, seed=seed))
    info["split_sizes"] = {k: len(v) for k, v in by_split(read_records(data)).items()}
    calibrate(target, data)
    metrics = evaluate(target, data, _ood_set(get_settings().assets_dir))
    cmd = f"radrag encoder train --data {data} --epochs {epochs} --seed {seed}"
    write_card(target, info, metrics, cmd + (f" --limit {limit}" if limit else ""))
    typer.echo(json.dumps({"train": info, "test": metrics}, indent=2))


@app.command("calibrate")
def calibrate_cmd(data: DataOpt, checkpoint: Annotated[Path | None, typer.Option()] = None) -> None:
    """Refit temperatures, bands and the OOD threshold of a checkpoint folder."""
    from rag.encoder.evaluate import calibrate

    _check(data)
    typer.echo(json.dumps(calibrate(checkpoint or default_checkpoint(), data), indent=2))


@app.command()
def evaluate(
    data: DataOpt,
    checkpoint: Annotated[Path | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the held-out test patients: AUROC, ECE and OOD AUROC."""
    from rag.config import get_settings
    from rag.encoder.evaluate import evaluate as run_eval

    _check(data)
    metrics = run_eval(
        checkpoint or default_checkpoint(), data, _ood_set(get_settings().assets_dir)
    )
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
    else:
        for k, v in metrics.items():
            typer.echo(f"{k}: {v}")
