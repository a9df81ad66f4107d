"""`radrag verify`: check text against a label set, one item or a JSONL batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from rag.cli.common import fail, read_json_arg


def verify(
    labels: Annotated[str | None, typer.Option(help="label set as JSON, or a JSON file")] = None,
    text: Annotated[str | None, typer.Option(help="text to verify")] = None,
    indication: Annotated[str | None, typer.Option()] = None,
    prior: Annotated[str | None, typer.Option(help="prior report text")] = None,
    batch: Annotated[Path | None, typer.Option(help="JSONL of {id, labels, text, ...}")] = None,
    out: Annotated[Path | None, typer.Option(help="JSONL output for --batch")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Verify text sentence by sentence (exit 0 all supported, 4 otherwise, 2 bad input)."""
    from rag.api.routes.verify import run_verify
    from rag.api.schemas import VerifyCreate, validation_message
    from rag.crosscheck.verdict import ContextSentenceCheck
    from rag.labeler import RuleLabeler

    # The same two readers as the service: both must find a sentence supported.
    labeler, crosscheck = RuleLabeler(), ContextSentenceCheck()
    if batch is not None:
        if out is None:
            raise fail("--batch needs --out")
        _run_batch(batch, out, labeler, crosscheck)
        return
    if labels is None or text is None:
        raise fail("give --labels and --text, or --batch IN.jsonl --out OUT.jsonl")
    raw = read_json_arg(labels, "--labels")
    if isinstance(raw, dict) and "labels" in raw:
        raw = raw["labels"]
    try:
        res = run_verify(
            VerifyCreate(labels=raw, text=text, indication=indication, prior=prior),
            labeler,
            crosscheck=crosscheck,
        )
    except ValidationError as exc:
        raise fail(validation_message(exc)) from None
    if as_json:
        typer.echo(res.model_dump_json(indent=2))
    else:
        for s in res.sentences:
            typer.echo(
                f"[{s.verdict}] {s.text}" + (f"  ({'; '.join(s.reasons)})" if s.reasons else "")
            )
    raise typer.Exit(0 if res.supported else 4)


def _run_batch(src: Path, dst: Path, labeler, crosscheck) -> None:
    from rag.api.routes.verify import run_verify
    from rag.api.schemas import VerifyCreate, validation_message

    if not src.is_file():
        raise fail(f"--batch: {src} is not a readable file")
    results = []
    for n, line in enumerate(src.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = VerifyCreate.model_validate(json.loads(line))
            res = run_verify(item, labeler, crosscheck=crosscheck)
            # ASCII-escaped: U+0085 or U+2028 in a text would otherwise split the JSONL line.
            results.append(json.dumps(res.model_dump(mode="json")))
        except json.JSONDecodeError as exc:
            raise fail(f"{src}:{n}: invalid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise fail(f"{src}:{n}: {validation_message(exc)}") from None
    # Write only after every line parsed, so a bad line never leaves a partial output.
    tmp = dst.with_suffix(dst.suffix + ".part")
    tmp.write_text("".join(r + "\n" for r in results))
    tmp.replace(dst)
    typer.echo(f"verified {len(results)} items -> {dst}", err=True)


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command()(verify)
