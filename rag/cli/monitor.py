"""`radrag monitor`: the encoder and the drafts, measured against the reviewers' corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from rag.cli.common import fail
from rag.config import get_settings


def _fmt(v: object) -> str:
    return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def register(app: typer.Typer) -> None:
    """Add the monitor command."""

    @app.command("monitor")
    def monitor(
        since: Annotated[
            str, typer.Option(help="window start: 7d, 24h, 90m or an ISO date")
        ] = "30d",
        until: Annotated[str | None, typer.Option(help="window end (default: now)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        strict: Annotated[bool, typer.Option(help="exit 2 when an alert fires")] = False,
    ) -> None:
        """AUROC and calibration vs reviewer labels, acceptance, edits, abstentions, alerts."""
        from rag.review.window import parse_when

        s = get_settings()
        if not s.persist:
            raise fail("the monitor reads the database: RADRAG_PERSIST is off")
        try:
            t0 = parse_when(since)
            t1 = parse_when(until) if until else datetime.now(UTC)
        except ValueError as exc:
            raise fail(f"--since/--until: {exc}") from None
        from rag.store.monitor_queries import monitor_report

        r = monitor_report(s, t0, t1)
        if as_json:
            typer.echo(json.dumps(r.as_dict(), indent=2))
        else:
            typer.echo(f"window {r.since:%Y-%m-%d %H:%M} .. {r.until:%Y-%m-%d %H:%M} UTC")
            typer.echo(
                f"studies {r.drafts}  signed {r.signed}  acceptance {_fmt(r.acceptance_rate)}"
                f"  abstention {_fmt(r.abstention_rate)}"
            )
            typer.echo(f"abstentions by reason: {r.abstention_by_reason}")
            typer.echo(f"sentence feedback: {r.sentence_feedback}")
            typer.echo("finding\tn\tpos\tAUROC\tECE\tBrier")
            for f, v in r.findings.items():
                typer.echo(
                    f"{f}\t{v['n']}\t{v['positives']}\t{_fmt(v['auroc'])}"
                    f"\t{_fmt(v['ece'])}\t{_fmt(v['brier'])}"
                )
            for key, groups in r.subgroups.items():
                for value, g in groups.items():
                    typer.echo(
                        f"{key}={value}: " + ", ".join(f"{k} {_fmt(x)}" for k, x in g.items())
                    )
            for a in r.alerts:
                typer.echo(f"ALERT {a}")
        if strict and r.alerts:
            raise typer.Exit(2)
