"""The `radrag` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from rag.cli import (
    admin,
    db,
    draft,
    encoder,
    eval,
    guard,
    kb,
    monitor,
    recertify,
    serve,
    verify,
)

app = typer.Typer(
    help="radrag: verified, retrieval-augmented chest X-ray report drafting.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")
app.add_typer(guard.app, name="guard")
app.add_typer(eval.app, name="eval")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(encoder.app, name="encoder")
app.add_typer(db.app, name="db")
serve.register(app)
draft.register(app)
verify.register(app)
monitor.register(app)
recertify.register(guard.app)

__all__ = ["app"]
