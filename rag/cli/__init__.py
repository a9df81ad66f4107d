"""The `radrag` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from rag.cli import draft, encoder, kb, serve

app = typer.Typer(
    help="radrag: verified, retrieval-augmented chest X-ray report drafting.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")
app.add_typer(encoder.app, name="encoder")
serve.register(app)
draft.register(app)

__all__ = ["app"]
