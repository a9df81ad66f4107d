"""Property-based tests: parsers and the labeler never crash and keep their contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rag.api.schemas import ReportCreate, VerifyCreate
from rag.domain import Finding, State
from rag.labeler import RuleLabeler, find_details, split_sentences

pytestmark = pytest.mark.unit

finding_ids = st.sampled_from([f.value for f in Finding])
values = st.one_of(
    st.sampled_from([s.value for s in State]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
    st.fixed_dictionaries(
        {"state": st.sampled_from(["present", "absent", "uncertain", "x"])},
        optional={"probability": st.floats(allow_nan=True)},
    ),
)
label_maps = st.dictionaries(st.one_of(finding_ids, st.text(max_size=10)), values, max_size=16)


@given(label_maps)
@settings(max_examples=300, deadline=None)
def test_label_set_parser_accepts_or_rejects_cleanly(raw: dict) -> None:
    try:
        req = ReportCreate(labels=raw).to_domain()
    except ValidationError as exc:
        assert exc.errors()  # a clean, field-level rejection
        return
    for f, lab in req.labels.findings.items():
        assert isinstance(f, Finding) and isinstance(lab.state, State)
        assert lab.probability is None or 0.0 <= lab.probability <= 1.0


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_labeler_and_detail_spotter_never_crash(text: str) -> None:
    out = RuleLabeler().label(text)
    assert all(isinstance(f, Finding) and isinstance(s, State) for f, s in out.items())
    find_details(text)
    assert all(s.strip() for s in split_sentences(text))


@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda t: json.dumps({"id": "x", "labels": {"edema": "absent"}, "text": t}),
                st.text(min_size=1, max_size=80),
            ),
            st.text(max_size=40),
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=10, deadline=None)
def test_batch_jsonl_parser_is_all_or_nothing(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        src.write_text("\n".join(lines) + "\n")
        r = subprocess.run(
            [sys.executable, "-m", "rag.cli", "verify", "--batch", str(src), "--out", str(dst)],
            capture_output=True,
            text=True,
            check=False,
        )
        valid = []
        for ln in lines:
            if not ln.strip():
                continue
            try:
                VerifyCreate.model_validate(json.loads(ln))
                valid.append(ln)
            except (json.JSONDecodeError, ValidationError):
                valid = None
                break
        if valid is None:
            assert r.returncode == 2 and not dst.exists() and "Traceback" not in r.stderr
        else:
            assert r.returncode == 0, r.stderr
            assert len(dst.read_text().splitlines()) == len(valid)
