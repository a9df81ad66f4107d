"""The review loop, measured: a simulated reading session, drafting p95 with the database on
and off side by side, and 32 concurrent clients (SQLite, and PostgreSQL when installed).

    .venv/bin/python bench/bench_review.py [--part session|latency|concurrency|all]

- session: the NIH test-patient images go through POST /v1/reports/images; a script plays
  the radiologist with the NIH labels (confirms or corrects every finding, signs); then
  `radrag monitor`'s per-finding AUROC is compared with `radrag encoder evaluate` on the
  same images, and `guard recertify`'s Learn-then-Test runs on the reviews.
- latency: label-set drafting over HTTP (in-process client) with persistence on and off,
  requests interleaved in one run; p50/p95 and the on/off ratio.
- concurrency: 32 clients post drafts over real HTTP for --seconds; every returned draft
  must be stored and the audit chain must verify.
Figures are measured in this run on this machine; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_foundation import pct, random_labels  # noqa: E402
from bench.inprocess import serve  # noqa: E402
from rag.api.app import create_app  # noqa: E402
from rag.config import get_settings  # noqa: E402
from rag.services import Services, build_services  # noqa: E402

NIH = ROOT.parent / "shared" / "data" / "nih1000"


def _services(home: Path, persist: bool = True, url: str | None = None, base=None) -> Services:
    """Services over the default KB with their own home (and database)."""
    real = get_settings()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "kb").exists():
        (home / "kb").symlink_to(real.kb_root.resolve())
    cfg = real.model_copy(
        update={
            "home": home,
            "auth": "disabled",
            "persist": persist,
            "database_url": url,
            "assets": real.assets_dir.resolve(),
            "kb_watch_seconds": 0.0,
        }
    )
    if base is None:
        return build_services(cfg)
    return Services(
        settings=cfg,
        embedder=base.embedder,
        kb=base.kb,
        pipeline=base.pipeline,
        image_encoder=base.image_encoder,
    )


def _labels_body(rng: random.Random) -> dict:
    ls = random_labels(rng)
    return {"labels": {f.value: lab.state.value for f, lab in ls.findings.items()}}


def bench_latency(tmp: Path, n: int = 300) -> dict[str, object]:
    """p50/p95 of POST /v1/reports with the database on and off, interleaved."""
    on = _services(tmp / "on")
    off = _services(tmp / "off", persist=False, base=on)
    rng = random.Random(11)
    bodies = [_labels_body(rng) for _ in range(n)]
    times: dict[str, list[float]] = {"on": [], "off": []}
    with TestClient(create_app(services=on)) as c_on, TestClient(create_app(services=off)) as c_off:
        for b in bodies[:20]:  # warm-up both
            c_on.post("/v1/reports", json=b)
            c_off.post("/v1/reports", json=b)
        for i, b in enumerate(bodies):
            order = [("on", c_on), ("off", c_off)] if i % 2 else [("off", c_off), ("on", c_on)]
            for name, c in order:
                t = time.perf_counter()
                r = c.post("/v1/reports", json=b)
                times[name].append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
    out: dict[str, object] = {"requests_each": n}
    for name, xs in times.items():
        out[f"p50_ms_db_{name}"] = round(statistics.median(xs), 2)
        out[f"p95_ms_db_{name}"] = round(pct(xs, 95), 2)
    out["p95_ratio_on_over_off"] = round(out["p95_ms_db_on"] / out["p95_ms_db_off"], 3)  # type: ignore[operator]
    return out


def bench_concurrency(tmp: Path, url: str | None, seconds: float, clients: int = 32) -> dict:
    """`clients` threads post drafts over HTTP for `seconds`; nothing may be lost."""
    from sqlalchemy import func, select

    from rag.store.audit import verify_db_chain
    from rag.store.tables import AuditRow, DraftRow

    svc = _services(tmp / ("conc-pg" if url else "conc-sqlite"), url=url)
    base, server = serve(create_app(services=svc))
    ids: list[str] = []
    errors: list[str] = []
    busy: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=120) as c:
            while time.monotonic() < stop:
                r = c.post("/v1/reports", json=_labels_body(rng))
                with lock:
                    if r.status_code == 200:
                        ids.append(r.json()["draft_id"])
                    elif r.status_code == 503:  # back-pressure: nothing stored, retried
                        busy.append(1)
                    else:
                        errors.append(str(r.status_code))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - t0
    server.should_exit = True
    assert svc.db is not None
    with svc.db.read() as s:
        stored = set(s.scalars(select(DraftRow.id)).all())
        n_audit = s.scalar(select(func.count()).select_from(AuditRow))
    ok, _, message = verify_db_chain(svc.db)
    return {
        "backend": "postgresql" if url else "sqlite",
        "clients": clients,
        "seconds": round(wall, 1),
        "drafts_acknowledged": len(ids),
        "drafts_stored": len(stored),
        "lost": len(set(ids) - stored),
        "errors": len(errors),
        "busy_503": len(busy),
        "audit_entries": n_audit,
        "chain": message if ok else f"BROKEN: {message}",
        "drafts_per_s": round(len(ids) / wall, 1),
    }


def _age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return next(
        b
        for lo, b in ((80, "80+"), (60, "60-79"), (40, "40-59"), (18, "18-39"), (0, "0-17"))
        if age >= lo
    )


def bench_session(tmp: Path, limit: int, data: Path = NIH) -> dict[str, object]:
    """Review the NIH test-patient images with their NIH labels; monitor vs encoder evaluate."""
    from rag.adapters.nih_images import by_split, read_records
    from rag.encoder.evaluate import evaluate, finding_targets
    from rag.encoder.train import targets
    from rag.review.recertify import recertify
    from rag.store.monitor_queries import load_window, monitor_report

    svc = _services(tmp / "session")
    enc = svc.get_image_encoder()
    recs = by_split(read_records(data))["test"][: limit or None]
    truth = finding_targets(targets(recs), enc)  # type: ignore[arg-type]
    signed = acknowledged = 0
    t0 = time.perf_counter()
    with TestClient(create_app(services=svc)) as c:
        for i, rec in enumerate(recs):
            sex = rec.sex if rec.sex in ("F", "M") else None
            form = {"sex": sex or "", "age_band": _age_band(rec.age) or "", "view": rec.view}
            files = [("images", (rec.path.name, rec.path.read_bytes(), "image/png"))]
            body = c.post("/v1/reports/images", files=files, data=form).json()
            draft_id = body["draft_id"]
            labels = {
                f.value: "present" if truth[i, j] else "absent"
                for j, f in enumerate(enc.findings)  # type: ignore[attr-defined]
            }
            r = c.patch(f"/v1/drafts/{draft_id}", json={"labels": labels}).json()
            if not r["content"]["sentences"]:
                # The verified draft abstained: the radiologist writes the report.
                edit = {"section": "impression", "index": None, "text": "Findings as labelled."}
                c.patch(f"/v1/drafts/{draft_id}", json={"text_edits": [edit]})
                acknowledged += 1
            s = c.post(f"/v1/drafts/{draft_id}/sign", json={"acknowledge_flagged": True})
            signed += s.status_code == 200
    wall = time.perf_counter() - t0
    now = datetime.now(UTC)
    report = monitor_report(svc.settings, now - timedelta(hours=6), now, svc.db)
    ev = evaluate(Path(get_settings().image_encoder), data, {})
    diffs = {
        f: round(abs(v["auroc"] - ev["auroc"][f]), 4)  # type: ignore[index]
        for f, v in report.findings.items()
        if v["auroc"] is not None and ev["auroc"].get(f) is not None  # type: ignore[union-attr]
    }
    cases, _, _ = load_window(svc.db, now - timedelta(hours=6), now)  # type: ignore[arg-type]
    cert = recertify(cases, alpha=0.2, delta=0.1)
    return {
        "studies": len(recs),
        "signed": signed,
        "written_by_reviewer": acknowledged,
        "seconds": round(wall, 1),
        "monitor_auroc": {
            f: round(v["auroc"], 4) for f, v in report.findings.items() if v["auroc"] is not None
        },
        "evaluate_auroc": ev["auroc"],
        "evaluate_test_images": ev["test_images"],
        "max_abs_auroc_diff": max(diffs.values()) if diffs else None,
        "acceptance_rate": report.acceptance_rate,
        "abstention_by_reason": report.abstention_by_reason,
        "alerts": report.alerts,
        "recertify": {
            k: cert[k]
            for k in ("n_cases", "risk_without_threshold", "threshold", "certified", "alpha")
        },
    }


def main() -> int:
    """Run the parts asked for and print their figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="all", choices=["session", "latency", "concurrency", "all"])
    ap.add_argument("--seconds", type=float, default=60.0, help="concurrency run length")
    ap.add_argument("--studies", type=int, default=0, help="0: every test-patient image")
    ap.add_argument("--data", type=Path, default=NIH, help="NIH-style folder (labels.csv)")
    args = ap.parse_args()
    if not get_settings().kb_root.exists():
        print("no knowledge base: run `make kb` first", file=sys.stderr)
        return 1
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.part in ("latency", "all"):
            out["latency"] = bench_latency(tmp)
            print(json.dumps({"latency": out["latency"]}), flush=True)
        if args.part in ("concurrency", "all"):
            out["concurrency"] = [bench_concurrency(tmp, None, args.seconds)]
            from tests.postgres_server import fresh_database, pg_bin, postgres_server

            if pg_bin() is not None:
                with postgres_server() as admin:
                    out["concurrency"].append(  # type: ignore[union-attr]
                        bench_concurrency(tmp, fresh_database(admin), args.seconds)
                    )
            else:
                print("PostgreSQL not installed: SQLite only", file=sys.stderr)
            print(json.dumps({"concurrency": out["concurrency"]}), flush=True)
        if args.part in ("session", "all"):
            if args.data.is_dir():
                out["session"] = bench_session(tmp, args.studies, args.data)
                print(json.dumps({"session": out["session"]}), flush=True)
            else:
                print(f"no NIH data at {args.data}: session skipped", file=sys.stderr)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
