"""Versioned prompt files (prompts/<name>/<version>/) and their pure rendering.

A prompt is typed data: system text, a user template with `$name` placeholders
(string.Template, so JSON braces in the text need no escaping) and a version that goes
into every report's provenance. Request free text (indication, prior report) is fenced
as data; anything in it that looks like a fence marker is neutralised so it cannot
close the fence and pose as instructions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rag.domain import FINDING_NAMES, Finding, LabelSet, Passage
from rag.stages.draft_slots import Slot, slot_label, suggested_wording
from rag.stages.retrieve import talking_points
from rag.stages.style import negative_sentences

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
DATA_OPEN, DATA_CLOSE = "<<<DATA", "DATA>>>"


@dataclass(frozen=True)
class PromptTemplate:
    """One versioned prompt: system text, user template, and the names it needs."""

    name: str
    version: str
    system: str
    user: str
    variables: tuple[str, ...]

    @property
    def id(self) -> str:
        """The provenance id, e.g. 'draft_report/v1'."""
        return f"{self.name}/{self.version}"


def load_prompt(name: str, version: str, root: Path = PROMPTS_DIR) -> PromptTemplate:
    """Read a prompt folder (system.txt, user.txt, meta.json) and check its placeholders."""
    folder = root / name / version
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("name") != name or meta.get("version") != version:
        raise ValueError(f"{folder}/meta.json names {meta.get('name')}/{meta.get('version')}")
    user = (folder / "user.txt").read_text()
    variables = tuple(meta["variables"])
    found = set(Template(user).get_identifiers())
    if found != set(variables):
        raise ValueError(f"{folder}: user.txt uses {sorted(found)}, meta says {sorted(variables)}")
    system = (folder / "system.txt").read_text().strip()
    return PromptTemplate(name, version, system, user, variables)


def fence(text: str | None) -> str:
    """Request text as inert data: fence markers inside it are broken up."""
    if not text or not text.strip():
        return "(none given)"
    out = text.strip()
    for marker in (DATA_OPEN, DATA_CLOSE, "<<<", ">>>"):
        out = out.replace(marker, marker.replace("<", "‹").replace(">", "›"))
    return out


def render_labels(labels: LabelSet) -> str:
    """One line per finding the report must address, in schema order."""
    points = talking_points(labels)
    return "\n".join(f"- {f.value} ({FINDING_NAMES[f]}): {s.value}" for f, s in points)


def render_passages(shown: dict[Finding, list[Passage]]) -> str:
    """The citable passages, grouped by the finding they may support."""
    blocks = []
    for finding, passages in shown.items():
        lines = "\n".join(f"  [{p.id}] {p.text}" for p in passages)
        blocks.append(f"{finding.value}:\n{lines}")
    return "\n".join(blocks) if blocks else "(none)"


def render_draft_messages(
    prompt: PromptTemplate,
    labels: LabelSet,
    shown: dict[Finding, list[Passage]],
    indication: str | None,
    prior_report: str | None,
) -> list[dict[str, str]]:
    """OpenAI-style chat messages for one drafting request (pure)."""
    user = Template(prompt.user).substitute(
        labels=render_labels(labels),
        passages=render_passages(shown),
        indication=fence(indication),
        prior_report=fence(prior_report),
    )
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def _slot_line(i: int, slot: Slot) -> str:
    line = f"{i}. {slot_label(slot)}"
    if len(slot.findings) == 1:
        return line
    # The combined wording itself: a small model otherwise names only the first finding.
    said = negative_sentences(list(slot.findings))
    example = f', e.g. "{said[0][0]}"' if len(said) == 1 else ""
    return f"{line} (one sentence for all{example})"


def render_slots(body: list[Slot], shown: list[list[Passage]], suggest: bool = False) -> str:
    """The findings items with their reference sentences numbered for citing.

    With `suggest` (prompt v3) each item first shows the report style's own sentence for
    it (rag.stages.style), which the guard is known to pass, as the wording to start from.
    """
    blocks = []
    for i, (slot, passages) in enumerate(zip(body, shown, strict=True), 1):
        line = _suggested_line(i, slot) if suggest else _slot_line(i, slot)
        refs = "".join(f"\n   [{j}] {p.text}" for j, p in enumerate(passages, 1))
        blocks.append(line + refs)
    return "\n".join(blocks) if blocks else "(none)"


def _suggested_line(i: int, slot: Slot, impression: bool = False) -> str:
    wording = suggested_wording(slot, impression)
    line = f"{i}. {slot_label(slot)}"
    return f'{line}\n   suggested: "{wording}"' if wording else line


def render_slot_messages(
    prompt: PromptTemplate,
    body: list[Slot],
    impression: list[Slot],
    shown: list[list[Passage]],
    indication: str | None,
    prior_report: str | None,
) -> list[dict[str, str]]:
    """Chat messages for a slot-based (v2) drafting request (pure); the system text is fixed."""
    # v2 templates use $slots/$impression, v3 templates $items/$impression_items (the same
    # items with a suggested wording each); substitute() ignores the names a template lacks.
    user = Template(prompt.user).substitute(
        slots=render_slots(body, shown),
        impression="\n".join(_slot_line(i, s) for i, s in enumerate(impression, 1)) or "(none)",
        items=render_slots(body, shown, suggest=True),
        impression_items="\n".join(
            _suggested_line(i, s, impression=True) for i, s in enumerate(impression, 1)
        )
        or "(none)",
        indication=fence(indication),
        prior_report=fence(prior_report),
    )
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]
