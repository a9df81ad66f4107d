"""Shared helpers of the command line: one-line errors and JSON arguments."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    typer.echo(f"radrag: error: {message}", err=True)
    return typer.Exit(code)


def read_json_arg(value: str, what: str) -> object:
    """Parse a JSON string, or the JSON file it names."""
    text = value
    if not value.lstrip().startswith(("{", "[")):
        path = Path(value)
        if not path.is_file():
            raise fail(f"{what}: {value!r} is neither JSON nor a readable file")
        text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"{what}: invalid JSON ({exc.msg} at line {exc.lineno})") from None


def emit_report(resp: object, as_json: bool) -> None:
    """Print a report response (JSON or text) and exit 0 when drafted, 3 when abstained."""
    import sys

    if as_json:
        typer.echo(resp.model_dump_json(indent=2))  # type: ignore[attr-defined]
    elif resp.report is not None:  # type: ignore[attr-defined]
        typer.echo(resp.report.text)  # type: ignore[attr-defined]
    else:
        reasons = resp.abstention.reasons if resp.abstention else ()  # type: ignore[attr-defined]
        typer.echo("ABSTAINED: " + "; ".join(r.message for r in reasons))
    sys.exit(0 if resp.status == "drafted" else 3)  # type: ignore[attr-defined]
