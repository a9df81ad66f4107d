"""`radrag guard recertify` and `radrag guard promote`: certify from reviews, serve on promotion."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings


def register(app: typer.Typer) -> None:
    """Add recertify and promote to the guard command group."""

    @app.command("recertify")
    def recertify_cmd(
        since: Annotated[str, typer.Option(help="reviews from: 90d, 24h or an ISO date")] = "365d",
        alpha: Annotated[float, typer.Option(help="target risk")] = 0.05,
        delta: Annotated[float, typer.Option(help="1 - confidence")] = 0.1,
        share: Annotated[float, typer.Option(help="share of cases held out for this")] = 1.0,
        exclude: Annotated[
            Path | None, typer.Option(help="file of case ids / accession numbers used in fitting")
        ] = None,
    ) -> None:
        """Learn-then-Test on reviewed cases; writes a candidate certificate (not served)."""
        from rag.review.recertify import recertify
        from rag.review.window import parse_when
        from rag.store.database import Database
        from rag.store.monitor_queries import load_window

        s = get_settings()
        if not 0.0 < share <= 1.0:
            raise fail("--share: a fraction in (0, 1]")
        try:
            t0 = parse_when(since)
        except ValueError as exc:
            raise fail(f"--since: {exc}") from None
        if exclude is not None and not exclude.is_file():
            raise fail(f"--exclude: no file {exclude}")
        skip = frozenset(exclude.read_text().split()) if exclude else frozenset()
        signed, _, _ = load_window(Database.open(s.db_url), t0, datetime.now(UTC))
        try:
            cert = recertify(signed, alpha, delta, share, skip)
        except ValueError as exc:
            raise fail(str(exc), code=1) from None
        cert |= {"encoder": s.image_encoder, "window_since": t0.isoformat()}
        out = s.home / "certificates" / f"candidate-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(cert, indent=2) + "\n")
        typer.echo(json.dumps({k: v for k, v in cert.items() if k != "table"}, indent=2))
        typer.echo(f"candidate written to {out}; serve it with: radrag guard promote {out}")

    @app.command("promote")
    def promote(candidate: Annotated[Path, typer.Argument(help="a recertify candidate")]) -> None:
        """Make a candidate certificate the one the image path serves with (keeps the old one)."""
        s = get_settings()
        try:
            cert = json.loads(candidate.read_text())
            ok = {"certified", "alpha", "threshold", "risk_without_threshold"} <= set(cert)
        except (OSError, json.JSONDecodeError) as exc:
            raise fail(f"{candidate}: {exc}") from None
        if not ok:
            raise fail(f"{candidate}: not a certificate (run `radrag guard recertify`)")
        target = Path(s.image_encoder) / "guard_calibration.json"
        if not target.parent.is_dir():
            raise fail(f"RADRAG_IMAGE_ENCODER: {target.parent} is not a folder")
        if target.exists():
            shutil.copy2(target, target.with_name("guard_calibration.previous.json"))
        shutil.copy2(candidate, target)
        if s.persist:
            from rag.security.audit import digest
            from rag.store.audit import DbAuditLog
            from rag.store.database import Database

            DbAuditLog(Database.open(s.db_url)).append(
                {
                    "action": "promote_certificate",
                    "certificate_sha256": digest(cert),
                    "certified": cert["certified"],
                    "threshold": cert["threshold"],
                }
            )
        typer.echo(f"promoted {candidate} -> {target} (restart the API to serve it)")
