"""Stage 3 (LLM mode), constrain: what the LLM may say, as a JSON schema, and its checked parse.

Two steps keep the LLM inside the label set: the labels are fixed before it runs (by the
encoder or the request), and the LLM writes free text only inside a JSON schema whose
`finding`, `state` and `evidence` fields are enums built from those labels and the
passages retrieved for them. The server enforces the schema while decoding (vLLM
structured outputs); `parse_draft` checks it again, because a wrong server setting or
a different backend must not let unconstrained output through. Every sentence parsed here
still goes through the verifier.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rag.domain import DraftSentence, Evidence, Finding, LabelSet, Passage, PassageKind
from rag.stages.generate import fits_labels
from rag.stages.retrieve import best_definition, talking_points

MAX_TEXT_CHARS = 240
# One sentence: capitalised, no inner full stop, ending in one. (xgrammar 0.2.8 crashes on
# bounded repetitions such as {6,150}, so length is bounded by max_tokens and the parse.)
SENTENCE_PATTERN = r"^[A-Z][^.!?]*\.$"
MAX_CITES = 2


class InvalidDraft(ValueError):
    """The LLM's output is not valid JSON or breaks the draft schema."""


def prompt_passages(
    labels: LabelSet, evidence: dict[Finding, list[Evidence]], per_finding: int = 3
) -> dict[Finding, list[Passage]]:
    """The passages shown to the LLM (and citable) per talking point, best first."""
    out: dict[Finding, list[Passage]] = {}
    for finding, state in talking_points(labels):
        evs = evidence.get(finding, [])
        # Detail-free sentences that say exactly what the labels say come first: they
        # are the safest wording to imitate; other sentences about the finding follow.
        sentences = [e.passage for e in evs if e.passage.tags.get(finding) is state]
        sentences.sort(key=lambda p: not fits_labels(p, labels))
        chosen = sentences[:per_finding]
        definition = best_definition(evs)
        if definition is not None and definition.passage.kind is PassageKind.definition:
            chosen.append(definition.passage)
        if chosen:
            out[finding] = chosen
    return out


def _text() -> dict[str, Any]:
    # Weak models otherwise answer with a bare "present" or repeat a sentence until the
    # length limit.
    return {"type": "string", "pattern": SENTENCE_PATTERN}


def _cites(ids: list[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"enum": ids}, "minItems": 1, "maxItems": MAX_CITES}


def draft_schema(labels: LabelSet, shown: dict[Finding, list[Passage]]) -> dict[str, Any]:
    """JSON schema: one entry per talking point (fixed order), then an impression."""
    entries = []
    for finding, state in talking_points(labels):
        if finding not in shown:
            continue  # nothing retrieved to cite: the model may not speak of it
        entries.append(
            {
                "type": "object",
                "properties": {
                    "finding": {"enum": [finding.value]},
                    "state": {"enum": [state.value]},
                    # Evidence before text: a model that has just named a passage tends
                    # to write in that passage's wording.
                    "evidence": _cites([p.id for p in shown[finding]]),
                    "text": _text(),
                },
                "required": ["finding", "state", "evidence", "text"],
                "additionalProperties": False,
            }
        )
    all_ids = list(dict.fromkeys(p.id for ps in shown.values() for p in ps))
    return {
        "type": "object",
        "properties": {
            # prefixItems fixes one entry per finding in order, so none is skipped or
            # repeated; items=false forbids extra entries.
            "findings": {
                "type": "array",
                "prefixItems": entries,
                "items": False,
                "minItems": len(entries),
                "maxItems": len(entries),
            },
            "impression": {
                "type": "object",
                "properties": {"evidence": _cites(all_ids), "text": _text()},
                "required": ["evidence", "text"],
                "additionalProperties": False,
            },
        },
        "required": ["findings", "impression"],
        "additionalProperties": False,
    }


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[.,;:!?])")


def split_sentences(text: str) -> list[str]:
    """Split model text into sentences, so the verifier judges each one on its own.

    Spacing is tidied first (before the verifier reads it): runs of white space become one
    space and none is left before a punctuation mark. The 0.5B model wrote "Cardiomegaly ."
    in 31 of 585 guarded IU test drafts.
    """
    tidy = _SPACE_BEFORE_MARK.sub("", " ".join(text.split()))
    return [s.strip() for s in _SENTENCE_END.split(tidy) if s.strip()]


def _cited(obj: dict[str, Any], allowed: set[str], where: str) -> tuple[str, ...]:
    ev = obj.get("evidence")
    if not isinstance(ev, list) or not 1 <= len(ev) <= MAX_CITES:
        raise InvalidDraft(f"{where}: evidence must list 1..{MAX_CITES} passage ids")
    bad = [e for e in ev if e not in allowed]
    if bad:
        # Count, never quote: the ids are the model's words and it failed here.
        raise InvalidDraft(f"{where}: {len(bad)} evidence id(s) not among those offered")
    return tuple(dict.fromkeys(ev))


def _text_of(obj: dict[str, Any], where: str) -> str:
    text = obj.get("text")
    if not isinstance(text, str) or not re.fullmatch(SENTENCE_PATTERN, text):
        raise InvalidDraft(f"{where}: text must be one sentence")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidDraft(f"{where}: text longer than {MAX_TEXT_CHARS} characters")
    return text


def draft_sections(raw: str) -> tuple[Any, Any]:
    """The LLM answer's findings and impression entries (any prompt version's envelope)."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidDraft(f"not JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(obj, dict) or set(obj) != {"findings", "impression"}:
        raise InvalidDraft("top level must be an object with findings and impression")
    return obj["findings"], obj["impression"]


def parse_draft(
    raw: str, labels: LabelSet, shown: dict[Finding, list[Passage]]
) -> tuple[list[DraftSentence], list[DraftSentence]]:
    """Check the LLM's JSON against the schema's rules and turn it into draft sentences."""
    entries, imp = draft_sections(raw)
    expected = [(f, s) for f, s in talking_points(labels) if f in shown]
    if not isinstance(entries, list) or len(entries) != len(expected):
        raise InvalidDraft(f"findings must have {len(expected)} entries")
    body: list[DraftSentence] = []
    for i, (entry, (finding, state)) in enumerate(zip(entries, expected, strict=True)):
        where = f"findings[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"finding", "state", "text", "evidence"}:
            raise InvalidDraft(f"{where}: needs exactly finding, state, text, evidence")
        if entry["finding"] != finding.value or entry["state"] != state.value:
            raise InvalidDraft(f"{where}: must be {finding.value} {state.value}")
        cites = _cited(entry, {p.id for p in shown[finding]}, where)
        body += [
            DraftSentence(text=t, findings={finding: state}, evidence=cites, origin="llm")
            for t in split_sentences(_text_of(entry, where))
        ]
    if not isinstance(imp, dict) or set(imp) != {"text", "evidence"}:
        raise InvalidDraft("impression: needs exactly text and evidence")
    cites = _cited(imp, {p.id for ps in shown.values() for p in ps}, "impression")
    about = {f: s for f, s in expected if any(p.id in cites for p in shown[f])}
    impression = [
        DraftSentence(text=t, section="impression", findings=about, evidence=cites, origin="llm")
        for t in split_sentences(_text_of(imp, "impression"))
    ]
    return body, impression
