"""Stage 3 (LLM mode, prompt v2), constrain: sentence slots in report style, their schema and parse.

The code decides what each sentence is about, in report order (rag.stages.style): one
slot per present or uncertain finding (with its attributes), one per group of absent
findings that a combined negative can carry ("No pleural effusion or pneumothorax."), and
the impression slots (every present or uncertain finding by importance, as a comparison
when a prior report licenses one; or no acute abnormality). The LLM writes the text of
each slot inside a JSON schema whose findings, states, attributes and change kinds are
constants, so it can neither skip, add nor invent one. The schema depends on the slots
only (passages are cited by position, not id), so requests with the same label set share
one compiled grammar on the server. Every parsed sentence still goes through the verifier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.domain import DraftSentence, Evidence, Finding, FindingAttributes, LabelSet, Passage, State
from rag.domain.compare import Change, ChangeKind
from rag.stages import style
from rag.stages.draft_schema import MAX_TEXT_CHARS, InvalidDraft, draft_sections, split_sentences
from rag.stages.generate import fits_labels

# Passages shown (and citable by position) per slot: enough wording to imitate.
PER_POSITIVE = 3
PER_NEGATIVE = 1
MAX_CITES = 2
# At least two words: a small model otherwise echoes the slot's state ("Present.") as its
# sentence (seen on the IU test split with Qwen2.5-Coder-0.5B).
TEXT_PATTERN = r"^[A-Z][^.!? ]* [^.!?]*\.$"
_NONE = FindingAttributes()


@dataclass(frozen=True)
class Slot:
    """One sentence the draft must contain: what it is about and how it may say it."""

    findings: tuple[Finding, ...]
    state: State
    attributes: FindingAttributes = _NONE
    change: ChangeKind | None = None

    def claims(self) -> dict[Finding, State]:
        """What the slot's sentence asserts."""
        return dict.fromkeys(self.findings, self.state)


def draft_slots(
    labels: LabelSet,
    evidence: dict[Finding, list[Evidence]],
    changes: Sequence[Change] = (),
) -> tuple[list[Slot], list[Slot]]:
    """Findings slots in report order and impression slots by importance."""
    said = {f for f in Finding if evidence.get(f)}  # nothing to cite: not spoken of
    points = [(f, st) for f, st in style.ordered_points(labels) if f in said]
    body: list[Slot] = []
    for name, section in style.SECTIONS:
        mine = [(f, st) for f, st in points if f in section]
        body += [
            Slot((f,), st, labels.attributes_of(f)) for f, st in mine if st is not State.absent
        ]
        after = style.NEGATIVES_AFTER[name]
        absent = [f for f, st in points if st is State.absent and f in after]
        negatives = style.negative_sentences(absent, style.lungs_may_be_clear(labels))
        body += [Slot(fs, State.absent) for _, fs in negatives]
    by_finding = {c.finding: c for c in changes}
    positives = [f for f, st in points if st is not State.absent]
    impression = [
        Slot(
            (f,),
            labels.effective_state(f),  # type: ignore[arg-type]
            labels.attributes_of(f),
            by_finding[f].kind if f in by_finding else None,
        )
        for f in style.by_importance(positives, labels)
    ]
    impression += [
        Slot((c.finding,), State.absent, c.prior, ChangeKind.resolved)
        for c in changes
        if c.kind is ChangeKind.resolved and c.finding in said
    ]
    quiet = style.quiet_impression(labels)
    if quiet is not None and all(f in said for f in quiet[1]):
        impression.append(Slot(quiet[1], State.absent))
    return body, impression


def slot_passages(
    slots: list[Slot], labels: LabelSet, evidence: dict[Finding, list[Evidence]]
) -> list[list[Passage]]:
    """Per findings slot, the sentences shown to the LLM (citable by position 1..n)."""
    out = []
    for slot in slots:
        per = PER_NEGATIVE if slot.state is State.absent else PER_POSITIVE
        chosen: list[Passage] = []
        for f in slot.findings:
            sentences = [
                e.passage for e in evidence.get(f, []) if e.passage.tags.get(f) is slot.state
            ]
            # Sentences that say exactly what the labels say first: the safest to imitate.
            sentences.sort(key=lambda p: not fits_labels(p, labels))
            chosen += [p for p in sentences[:per] if p not in chosen]
        out.append(chosen[: max_cites_shown(slot)])
    return out


def max_cites_shown(slot: Slot) -> int:
    """How many passages a slot shows at most (fixed by the slot, so the schema is too)."""
    return PER_NEGATIVE * len(slot.findings) if slot.state is State.absent else PER_POSITIVE


def _const(value: str) -> dict[str, Any]:
    return {"enum": [value]}


def slot_label(slot: Slot) -> str:
    """What a slot is about, as the prompt lists it: 'pleural_effusion: present; small, left'."""
    head = ", ".join(f.value for f in slot.findings)
    attrs = [
        getattr(slot.attributes, n).value.replace("_", " ")
        for n in ("severity", "laterality", "location", "count")
        if getattr(slot.attributes, n) is not None
    ]
    attrs += [d.type.value.replace("_", " ") for d in slot.attributes.devices]
    label = f"{head}: {slot.state.value}"
    if attrs:
        label += "; " + ", ".join(attrs)
    if slot.change is not None:
        label += f"; change since prior: {slot.change.value}"
    return label


def _entry(slot: Slot, *, cite: bool) -> dict[str, Any]:
    # One constant names the slot's findings, state, attributes and change: the model
    # re-reads what it is writing about, and every forced token costs a decoding step, so
    # one short string beats a key per field (measured: bench/bench_vllm.py --latency).
    props: dict[str, Any] = {"about": _const(slot_label(slot))}
    if cite:
        positions = list(range(1, max_cites_shown(slot) + 1))
        props["cite"] = {
            "type": "array",
            "items": {"enum": positions},
            "minItems": 1,
            "maxItems": min(MAX_CITES, len(positions)),
        }
    props["text"] = {"type": "string", "pattern": TEXT_PATTERN}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _fixed_array(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "array",
        "prefixItems": items,
        "items": False,
        "minItems": len(items),
        "maxItems": len(items),
    }


def slots_schema(body: list[Slot], impression: list[Slot]) -> dict[str, Any]:
    """The JSON schema of a draft: one entry per slot, in order (depends on the slots only)."""
    return {
        "type": "object",
        "properties": {
            "findings": _fixed_array([_entry(s, cite=True) for s in body]),
            # The impression cites what the findings entries cited for the same findings.
            "impression": _fixed_array([_entry(s, cite=False) for s in impression]),
        },
        "required": ["findings", "impression"],
        "additionalProperties": False,
    }


def _text_of(entry: dict[str, Any], where: str) -> list[str]:
    text = entry.get("text")
    if not isinstance(text, str) or not re.fullmatch(TEXT_PATTERN, text):
        raise InvalidDraft(f"{where}: text must be one sentence")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidDraft(f"{where}: text longer than {MAX_TEXT_CHARS} characters")
    return split_sentences(text)


def _plain_impression(slot: Slot) -> str:
    """The extractive impression of a slot, for a model that repeated a findings sentence."""
    f = slot.findings[0]
    if slot.state is State.absent and slot.change is None and slot.findings in style.QUIET:
        return style.QUIET[slot.findings]
    if slot.change is not None:
        now = slot.attributes if slot.change is not ChangeKind.resolved else _NONE
        prior = slot.attributes if slot.change is ChangeKind.resolved else _NONE
        return style.change_sentence(Change(finding=f, kind=slot.change, prior=prior, current=now))
    return style.impression_phrase(f, slot.state, slot.attributes)


def suggested_wording(slot: Slot, impression: bool = False) -> str | None:
    """The report style's own sentence for a slot (what the extractive generator writes)."""
    if impression:
        return _plain_impression(slot)
    if slot.state is State.absent:
        said = style.negative_sentences(list(slot.findings))
        return said[0][0] if len(said) == 1 else None
    return " ".join(style.finding_sentence(slot.findings[0], slot.state, slot.attributes))


def _check_entry(entry: object, slot: Slot, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict) or set(entry) != keys:
        raise InvalidDraft(f"{where}: needs exactly {sorted(keys)}")
    if entry["about"] != slot_label(slot):
        raise InvalidDraft(f"{where}: must be about {slot_label(slot)}")
    return entry


def parse_slots(
    raw: str,
    body: list[Slot],
    impression: list[Slot],
    shown: list[list[Passage]],
) -> tuple[list[DraftSentence], list[DraftSentence]]:
    """Check the LLM's JSON against the slots and turn it into draft sentences."""
    entries, imp = draft_sections(raw)
    if not isinstance(entries, list) or len(entries) != len(body):
        raise InvalidDraft(f"findings must have {len(body)} entries")
    if not isinstance(imp, list) or len(imp) != len(impression):
        raise InvalidDraft(f"impression must have {len(impression)} entries")
    out_body: list[DraftSentence] = []
    owners: list[Slot] = []  # the slot each findings sentence answers
    cites: dict[Finding, tuple[str, ...]] = {}
    for i, (entry, slot, passages) in enumerate(zip(entries, body, shown, strict=True)):
        where = f"findings[{i}]"
        keys = set(_entry(slot, cite=True)["properties"])
        e = _check_entry(entry, slot, where, keys)
        pos = e["cite"]
        if not isinstance(pos, list) or not all(isinstance(p, int) for p in pos):
            raise InvalidDraft(f"{where}: evidence must list passage positions")
        # A position past what this request showed cites nothing (the verifier then asks
        # for evidence); it is not a reason to throw the whole draft away.
        ids = tuple(dict.fromkeys(passages[p - 1].id for p in pos if 1 <= p <= len(passages)))
        for f in slot.findings:
            cites[f] = cites.get(f, ()) + ids
        for t in _text_of(e, where):
            if t.lower() in {s.text.lower() for s in out_body}:
                continue  # the same sentence twice says nothing more
            out_body.append(
                DraftSentence(text=t, findings=slot.claims(), evidence=ids, origin="llm")
            )
            owners.append(slot)
    out_imp: list[DraftSentence] = []
    for i, (entry, slot) in enumerate(zip(imp, impression, strict=True)):
        where = f"impression[{i}]"
        e = _check_entry(entry, slot, where, set(_entry(slot, cite=False)["properties"]))
        ids = tuple(dict.fromkeys(c for f in slot.findings for c in cites.get(f, ())))
        for t in _text_of(e, where):
            origin = "llm"
            said = {s.text.lower() for s in out_body}
            if t.lower() in said:  # never a findings sentence again, word for word
                t, origin = _plain_impression(slot), "template"
            if t.lower() in said and not _reword_findings(out_body, owners, t):
                continue
            out_imp.append(
                DraftSentence(
                    text=t,
                    section="impression",
                    findings=slot.claims(),
                    evidence=ids,
                    origin=origin,
                )
            )
    return out_body, out_imp


def _reword_findings(out_body: list[DraftSentence], owners: list[Slot], text: str) -> bool:
    """Give the findings sentence that took the impression's wording its slot's own style
    sentence (a model wrote "No acute cardiopulmonary abnormality." for the pleura);
    False when that would repeat a sentence too (the impression sentence is then left out).
    """
    j = next(i for i, s in enumerate(out_body) if s.text.lower() == text.lower())
    wording = suggested_wording(owners[j])
    if wording is None or wording.lower() in {s.text.lower() for s in out_body} | {text.lower()}:
        return False
    out_body[j] = out_body[j].model_copy(update={"text": wording, "origin": "template"})
    return True
