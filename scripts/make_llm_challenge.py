"""Build the real-LLM challenge set's drafts, or merge hand labels into the committed set.

  generate: run the unguarded baseline and the weak prompt through the real vLLM server on
            IU X-ray VALIDATION cases (never test), with MeSH oracle label sets, and write
            one line per draft sentence (no truth yet, no IU text) to --out.
  merge:    join a drafts file with hand labels (id, truth kind, note) into the final set.
  audit:    agreement (Cohen's kappa) of a blind second labelling pass with the set.

    PYTHONPATH=$PWD .venv/bin/python scripts/make_llm_challenge.py generate \
        --cases 80 --concurrency 6 --raw /tmp/llm_raw.jsonl --out /tmp/llm_drafts.jsonl
    PYTHONPATH=$PWD .venv/bin/python scripts/make_llm_challenge.py merge \
        --drafts /tmp/llm_drafts.jsonl --labels labels.tsv \
        --out eval/challenge/llm_validation.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import httpx

from rag.evaluation.challenge import ERROR_KINDS, GOOD_KINDS
from rag.evaluation.llm_challenge import (
    WEAK_PROMPTS,
    draft_sentences,
    normalise,
    select_cases,
    weak_messages,
)

MAX_TOKENS = 256


def _wait_healthy(client: httpx.Client, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            if client.get("/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"vLLM server at {client.base_url} not healthy after {limit_s:.0f} s")
        time.sleep(10)


def _complete(client: httpx.Client, model: str, messages: list[dict[str, str]]) -> dict:
    body = {"model": model, "messages": messages, "max_tokens": MAX_TOKENS, "temperature": 0.0}
    for attempt in range(3):
        try:
            r = client.post("/v1/chat/completions", json=body)
            r.raise_for_status()
            choice = r.json()["choices"][0]
            text = choice["message"]["content"] or ""
            return {"text": text, "finish": choice.get("finish_reason")}
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            print(f"attempt {attempt + 1}: {type(exc).__name__}", file=sys.stderr)
            time.sleep(5)
    return {"text": "", "finish": "error"}  # a lost draft adds no sentences


def generate(args: argparse.Namespace) -> None:
    """Draft every chosen case with both prompts and write the sentences."""
    from rag.adapters.iu_xray import load_reports, read_split
    from rag.adapters.registry_assets import iu_reports_dir
    from rag.config import get_settings
    from rag.domain import LabelSet
    from rag.evaluation.drafters import EvalCase
    from rag.evaluation.unguarded import PROMPT_VERSION, render
    from rag.kb.sources import SPLIT_DIR
    from rag.labeler import split_sentences
    from rag.services import build_services

    settings = get_settings()
    reports = load_reports(iu_reports_dir(settings.assets_dir))
    val = [reports[i] for i in read_split(SPLIT_DIR, "validation")]
    chosen = select_cases(val, args.cases, args.seed)
    # Verbatim copies of IU train/validation sentences are flagged, never their source text.
    iu_sents = {
        normalise(s)
        for sp in ("train", "validation")
        for i in read_split(SPLIT_DIR, sp)
        for s in split_sentences(reports[i].text)
    }
    svc = build_services(settings)
    kb, retriever = svc.kb.get(), svc.pipeline.retriever
    jobs = []
    for rep, states in chosen:
        labels = LabelSet.from_states(states)
        # No indication: it is IU report text (CC BY-NC-ND) and is not stored with the set.
        case = EvalCase(rep.id, labels, "", None)
        jobs.append((rep.id, states, "unguarded", PROMPT_VERSION, render(case, kb, retriever)))
        for source, version in WEAK_PROMPTS.items():
            jobs.append((rep.id, states, source, version, weak_messages(labels, version)))
    # Raw drafts are cached line by line (outside the repo): an interrupted run resumes,
    # and a change of sentence splitting re-splits them without asking the server again.
    raw = Path(args.raw)
    cache = {}
    if raw.exists():
        for line in raw.read_text().splitlines():
            rec = json.loads(line)
            cache[(rec["case_id"], rec["source"])] = rec
    # Short prose drafts first: they cost the shared server least and say the most.
    todo = sorted(
        (j for j in jobs if (j[0], j[2]) not in cache), key=lambda j: j[2] != "weak_prose"
    )
    if args.cached_only:  # stop where the budget ran out: keep the drafts already made
        jobs, todo = [j for j in jobs if (j[0], j[2]) in cache], []
    t0 = time.monotonic()
    if todo:
        client = httpx.Client(base_url=args.url, timeout=600)
        _wait_healthy(client, args.wait_s)
        with raw.open("a") as fh, ThreadPoolExecutor(args.concurrency) as pool:
            futs = {pool.submit(_complete, client, args.model, j[4]): j for j in todo}
            for fut in as_completed(futs):
                j = futs[fut]
                rec = {"case_id": j[0], "source": j[2], **fut.result()}
                cache[(j[0], j[2])] = rec
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
    took = time.monotonic() - t0
    outs = [cache[(j[0], j[2])] for j in jobs]
    n = 0
    with Path(args.out).open("w") as fh:
        for (cid, states, source, version, _), out in zip(jobs, outs, strict=True):
            # A repeated line (templates, loops) is kept once per draft: same text, same verdict.
            for k, s in enumerate(dict.fromkeys(draft_sentences(out["text"]))):
                rec = {
                    "id": f"llm-{cid}-{source}-{k}",
                    "case_id": cid,
                    "source": source,
                    "prompt_version": version,
                    "model": args.model,
                    "labels": states,
                    "text": s,
                    "verbatim_iu": normalise(s) in iu_sents,
                    "finish_reason": out["finish"],
                }
                fh.write(json.dumps(rec) + "\n")
                n += 1
    print(
        f"{len(jobs)} drafts of {len(chosen)} validation cases ({len(todo)} generated now "
        f"in {took:.0f} s), {n} sentences"
    )


def merge(args: argparse.Namespace) -> None:
    """Attach the hand labels (TSV: id, kind, note) to the drafts and write the set."""
    labels = {}
    for line in Path(args.labels).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            sid, kind, *note = line.split("\t")
            if kind not in GOOD_KINDS | ERROR_KINDS:
                sys.exit(f"{sid}: unknown kind {kind!r}")
            labels[sid] = (kind, note[0] if note else "")
    rows = [json.loads(x) for x in Path(args.drafts).read_text().splitlines() if x.strip()]
    missing = [r["id"] for r in rows if r["id"] not in labels]
    if missing:
        sys.exit(f"{len(missing)} sentences have no label, e.g. {missing[:3]}")
    with Path(args.out).open("w") as fh:
        for r in rows:
            kind, note = labels[r["id"]]
            r["truth"] = "correct" if kind in GOOD_KINDS else "bad"
            r["kind"] = kind
            if note:
                r["note"] = note
            fh.write(json.dumps(r) + "\n")
    print(f"wrote {len(rows)} labelled sentences to {args.out}")


def audit(args: argparse.Namespace) -> None:
    """Agreement of a blind second pass (TSV: id, kind) with the committed labels."""
    from rag.evaluation.challenge import load_llm
    from rag.evaluation.llm_challenge import cohen_kappa

    first = {c.id: c.kind for c in load_llm(Path(args.set))}
    second = {}
    for line in Path(args.second).read_text().splitlines():
        if line.strip():
            sid, kind = line.split("\t")[:2]
            second[sid] = kind
    ids = sorted(second)
    a, b = [first[i] for i in ids], [second[i] for i in ids]
    truth = ["correct" if k in GOOD_KINDS else "bad" for k in a]
    truth2 = ["correct" if k in GOOD_KINDS else "bad" for k in b]
    claims = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if "no_claim" not in (x, y)]
    rows = {
        "n": len(ids),
        "kind_agreement": sum(x == y for x, y in zip(a, b, strict=True)) / len(ids),
        "kind_kappa": cohen_kappa(a, b),
        "truth_agreement": sum(x == y for x, y in zip(truth, truth2, strict=True)) / len(ids),
        "truth_kappa": cohen_kappa(truth, truth2),
        "n_with_a_claim": len(claims),
        "kind_kappa_with_a_claim": cohen_kappa([a[i] for i in claims], [b[i] for i in claims]),
        "disagreements": [
            {"id": i, "first": x, "second": y} for i, x, y in zip(ids, a, b, strict=True) if x != y
        ],
    }
    print(json.dumps(rows, indent=2))


def main() -> None:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--cases", type=int, default=80)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--concurrency", type=int, default=6)
    g.add_argument("--url", default="http://127.0.0.1:8100")
    g.add_argument("--model", default="qwen2.5-coder-0.5b")
    g.add_argument("--wait-s", type=float, default=1800)
    g.add_argument("--out", required=True)
    g.add_argument("--cached-only", action="store_true", help="write only cached drafts")
    g.add_argument("--raw", required=True, help="raw drafts (kept outside the repo; reused)")
    m = sub.add_parser("merge")
    m.add_argument("--drafts", required=True)
    m.add_argument("--labels", required=True)
    m.add_argument("--out", required=True)
    au = sub.add_parser("audit")
    au.add_argument("--set", default="eval/challenge/llm_validation.jsonl")
    au.add_argument("--second", default="eval/challenge/llm_validation_audit.tsv")
    args = p.parse_args()
    {"generate": generate, "merge": merge, "audit": audit}[args.cmd](args)


if __name__ == "__main__":
    main()
