"""An evaluation run: draft every case, score it, write cases.jsonl, results.json and HTML.

Resumable: each case is appended to cases.jsonl as soon as it is done; a rerun with the
same configuration hash skips the cases already there. A different configuration in the
same folder is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from rag.adapters.iu_xray import IUReport
from rag.domain import Finding, FindingLabel, LabelSet, State, Verdict
from rag.evaluation import metrics as m
from rag.evaluation.aggregate import aggregate, parse_states
from rag.evaluation.drafters import Drafter, EvalCase, Outcome
from rag.evaluation.executors import CaseExecutor, LocalExecutor, Scorer
from rag.evaluation.judges import MESH_KEY, judge_case, mesh_meta
from rag.evaluation.locks import RunConflict, output_lock
from rag.evaluation.stated_attributes import judge_attributes
from rag.ports import Labeler
from rag.stages.prior import read_prior
from rag.stages.verify import verify_text

# How many cases a run takes says nothing about how each case is drafted or scored: a
# `--limit 100` run can be extended to `--limit 300` in the same folder (the first 100
# cases are not drafted again), so the limit is stamped but not hashed.
# The second judge only adds a block to each record (drafts and headline metrics do not
# depend on it), so turning it on does not make a folder's earlier cases foreign either.
_NOT_HASHED = frozenset({"limit", "judge"})


def config_hash(config: dict[str, object]) -> str:
    """A short, stable hash of what decides each case's outcome (not how many cases)."""
    hashed = {k: v for k, v in config.items() if k not in _NOT_HASHED}
    return hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()[:16]


def _labels_json(labels: dict[Finding, State]) -> dict[str, str]:
    return {f.value: s.value for f, s in sorted(labels.items())}


def score_case(
    case: EvalCase, out: Outcome, labeler: Labeler, judge: Labeler | None = None
) -> dict[str, object]:
    """Per-case record: inputs, draft, verdicts and metrics.

    The reference labels are the dataset's own when it has them (NIH), else the labeler's
    reading of the reference report; the draft is always read by the labeler. Draft
    statements about findings the reference cannot score are kept apart, never errors.
    With a `judge` (the independent check), the record also gets its verdicts and, for
    cases with MeSH terms, the MeSH judge's (rag.evaluation.judges).
    """
    if case.reference_labels is not None:
        ref = dict(case.reference_labels)
    else:
        ref = labeler.label_report(case.reference)  # type: ignore[attr-defined]
    inputs: dict[str, object] = {"labels": case.labels.as_states(), "indication": case.indication}
    attrs = {
        f.value: lab.attributes.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        for f, lab in case.labels.findings.items()
        if lab.attributes is not None and not lab.attributes.is_empty()
    }
    if attrs:
        inputs["attributes"] = attrs
    if case.probabilities is not None:
        # Unrounded encoder probabilities: the reliability diagram is binned from these.
        inputs["probabilities"] = {f.value: p for f, p in case.probabilities.items()}
    rec: dict[str, object] = {
        "case_id": case.id,
        "inputs": inputs,
        "reference": case.reference or None,
        "reference_labels": _labels_json(ref),
        "status": out.status,
        "draft": out.text if out.status == "drafted" else None,
        "abstention": out.abstention,
        "score": out.score,
        "pipeline_verdicts": out.verdicts,
        "meta": case.meta,
    }
    if out.status != "drafted":
        return rec
    said = labeler.label_report(out.text)  # type: ignore[attr-defined]
    draft = {f: s for f, s in said.items() if case.scored is None or f in case.scored}
    # Every returned sentence is re-checked here the same way for every generator, so the
    # unsupported rate of a guarded run is measured, not assumed.
    checks = verify_text(out.text, case.labels, labeler, case.indication)
    rec.update(
        {
            "draft_labels": _labels_json(draft),
            "unscored_draft_labels": _labels_json(
                {f: s for f, s in said.items() if f not in draft}
            ),
            "sentence_verdicts": [
                {"text": v.text, "verdict": v.verdict.value, "reasons": list(v.reasons)}
                for v in checks
            ],
            "metrics": {
                "hallucinated": [f.value for f in m.hallucinated(draft, ref)],
                "contradictions": [f.value for f in m.contradictions(draft, ref)],
                "hard_contradictions": [f.value for f in m.hard_contradictions(draft, ref)],
                "n_sentences": len(checks),
                "n_unsupported": sum(v.verdict is Verdict.unsupported for v in checks),
            },
        }
    )
    stated = judge_attributes(out.text, case.labels, labeler)
    if stated:
        rec["attributes"] = stated
    if judge is not None:
        j_ref = (
            dict(case.reference_labels)
            if case.reference_labels is not None
            else judge.label_report(case.reference)  # type: ignore[attr-defined]
        )
        j_said = judge.label_report(out.text)  # type: ignore[attr-defined]
        j_draft = {f: s for f, s in j_said.items() if case.scored is None or f in case.scored}
        rec["judges"] = judge_case(draft, ref, j_draft, j_ref, case.meta.get(MESH_KEY))
    return rec


def scorer(drafter: Drafter, labeler: Labeler, judge: Labeler | None = None) -> Scorer:
    """Draft one case and score it (what every executor runs per case)."""
    return lambda case: score_case(case, drafter.draft(case), labeler, judge)


def run(
    cases: Sequence[EvalCase],
    drafter: Drafter,
    labeler: Labeler,
    out_dir: Path,
    config: dict[str, object],
    progress: bool = True,
    concurrency: int = 1,
    judge: Labeler | None = None,
    executor: CaseExecutor | None = None,
) -> dict[str, object]:
    """Draft and score every case (resuming if possible) and write the outputs.

    With `concurrency` > 1 cases are drafted from that many threads, so an LLM server
    sees concurrent requests and can batch them; another `executor` (Ray) scores them on
    other processes or machines. Lines are appended as cases finish and the results are
    assembled in case order, so the outcome depends on neither.
    """
    with output_lock(out_dir):
        return _run(
            cases, drafter, labeler, out_dir, config, progress, concurrency, executor, judge
        )


def _run(
    cases: Sequence[EvalCase],
    drafter: Drafter,
    labeler: Labeler,
    out_dir: Path,
    config: dict[str, object],
    progress: bool,
    concurrency: int,
    executor: CaseExecutor | None,
    judge: Labeler | None = None,
) -> dict[str, object]:
    from tqdm import tqdm

    chash = config_hash(config)
    stamp_path, cases_path = out_dir / "config.json", out_dir / "cases.jsonl"
    if stamp_path.exists():
        old = json.loads(stamp_path.read_text())
        if old.get("config_hash") != chash:
            raise RunConflict(
                f"{out_dir} holds a run with config {old.get('config_hash')}, "
                f"not {chash}; use another --out"
            )
    stamp_path.write_text(json.dumps({"config_hash": chash, **config}, indent=2))
    done: dict[str, dict[str, object]] = {}
    if cases_path.exists():
        text = cases_path.read_text()
        if text and not text.endswith("\n"):
            # An interrupted line: end it, so the next record does not extend it.
            with cases_path.open("a") as fh:
                fh.write("\n")
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption is redone
            done[rec["case_id"]] = rec
    todo = [c for c in cases if c.id not in done]

    executor = executor or LocalExecutor(scorer(drafter, labeler, judge), concurrency)
    bar = tqdm(
        desc=f"eval {drafter.name}",
        disable=not progress,
        initial=len(cases) - len(todo),
        total=len(cases),
    )
    with cases_path.open("a") as fh:
        for scored in executor.map(todo):
            rec = {"config_hash": chash, **scored}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            done[str(rec["case_id"])] = rec
            bar.update()
    bar.close()
    records = [done[c.id] for c in cases]
    results = {"config_hash": chash, **config, **aggregate(records)}
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


# How iu_cases builds its oracle label sets (stamped into a run's config, so a folder made
# with another oracle is not resumed): v2 adds the reference's stated attributes and takes
# a normal study from the human MeSH annotation.
ORACLE = "reference-v2: rule states + stated attributes; no_finding from MeSH 'normal'"


def _input_labels(inputs: Mapping[str, object]) -> LabelSet:
    """A stored case's label set, with the attributes it was drafted from."""
    states: dict[str, str] = inputs["labels"]  # type: ignore[assignment]
    attrs: dict[str, dict] = inputs.get("attributes") or {}  # type: ignore[assignment]
    return LabelSet.model_validate(
        {"findings": {f: {"state": s, "attributes": attrs.get(f)} for f, s in states.items()}}
    )


def label_set_from_reference(
    labels: Mapping[Finding, State],
    stated: LabelSet | None = None,
    mesh_normal: bool = False,
) -> LabelSet | None:
    """The oracle label set: what the reference states, without the derived no_finding.

    `stated` (the reference read as a prior is read, rag.stages.prior) adds the side,
    size and place the radiologist wrote for a present finding. With `mesh_normal` (the
    IU annotators indexed the study "normal") and nothing read present or uncertain, the
    study is labelled normal: every finding the text did not name is then absent too.
    """
    kept = {f: s for f, s in labels.items() if f is not Finding.no_finding}
    if not kept:
        return None
    if mesh_normal and all(s is State.absent for s in kept.values()):
        kept[Finding.no_finding] = State.present
    findings = {}
    for f, st in kept.items():
        attrs = stated.attributes_of(f) if stated is not None and st is State.present else None
        keep = attrs is not None and not attrs.is_empty()
        findings[f] = FindingLabel(state=st, attributes=attrs if keep else None)
    return LabelSet(findings=findings)


class _Replay:
    """A drafter that returns the outcomes a finished run stored."""

    def __init__(self, name: str, outcomes: dict[str, Outcome]) -> None:
        self.name, self._outcomes = name, outcomes

    def draft(self, case: EvalCase) -> Outcome:
        return self._outcomes[case.id]


def rescore(
    src: Path,
    dst: Path,
    labeler: Labeler,
    progress: bool = False,
    judge: Labeler | None = None,
    mesh: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, object]:
    """Score a finished run's stored drafts again with the current labeler and metrics.

    Drafting is the slow part of an LLM run; when only the measuring changed (a labeler
    fix), the drafts are replayed instead of regenerated. The inputs stay those the
    drafter saw; the reference labels are recomputed. The new configuration names the
    labeler and the run it came from, so it cannot pass for the original. `mesh` (case id
    -> MeSH terms) fills in the MeSH judge's reference for runs recorded before it existed.
    """
    old = json.loads((src / "config.json").read_text())
    config = {k: v for k, v in old.items() if k != "config_hash"}
    config |= {"labeler": labeler.name, "rescored_from": old["config_hash"]}  # type: ignore[attr-defined]
    if judge is not None:
        config["judge"] = judge.name  # type: ignore[attr-defined]
    cases, outcomes = [], {}
    for line in (src / "cases.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption was never a finished case
        inputs = r["inputs"]
        # A label-only dataset (NIH) stored its own reference labels: those are data, not
        # the labeler's reading, so they are kept as they are and still bound what is scored.
        given = None if r["reference"] else parse_states(r["reference_labels"])
        probs = inputs.get("probabilities")
        meta = dict(r.get("meta") or {})
        if mesh is not None and MESH_KEY not in meta and r["case_id"] in mesh:
            meta |= mesh_meta(mesh[r["case_id"]])
        case = EvalCase(
            r["case_id"],
            _input_labels(inputs),
            r["reference"] or "",
            inputs["indication"],
            meta,
            reference_labels=given,
            scored=None if given is None else frozenset(given),
            probabilities=None if probs is None else {Finding(f): p for f, p in probs.items()},
        )
        drafted = r["status"] == "drafted"
        outcomes[case.id] = Outcome(
            r["status"],
            [r["draft"]] if drafted else [],
            r["abstention"],
            r["score"],
            r["pipeline_verdicts"],
        )
        cases.append(case)
    replay = _Replay(str(old["generator"]), outcomes)
    return run(cases, replay, labeler, dst, config, progress, judge=judge)


def iu_cases(
    reports: Mapping[str, IUReport],
    ids: Sequence[str],
    labeler: Labeler,
    limit: int | None = None,
) -> tuple[list[EvalCase], int]:
    """Oracle-label cases of IU reports, and how many had nothing in the ontology to draft.

    With `limit`, reading stops at the limit-th case, so the skipped count is of the
    reports read on the way there, not of the whole split.
    """
    cases: list[EvalCase] = []
    skipped = 0
    for rid in ids:
        if limit is not None and len(cases) >= limit:
            break
        rep = reports[rid]
        labels = (
            label_set_from_reference(
                labeler.label_report(rep.text),  # type: ignore[attr-defined]
                read_prior(rep.text, labeler),
                mesh_normal=[t.lower() for t in rep.mesh_major] == ["normal"],
            )
            if rep.text
            else None
        )
        if labels is None:
            skipped += 1
            continue
        cases.append(
            EvalCase(rid, labels, rep.text, rep.indication or None, mesh_meta(rep.mesh_major))
        )
    return cases, skipped
