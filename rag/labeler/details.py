"""Spot patient-specific details: what a sentence says beyond a finding and its state.

A label set says which findings are present; it says nothing about side, size, number,
which device, or how things compare with an earlier study, unless its structured
attributes say so. A sentence that states such a detail must get it from those
attributes or from the prior report, never from a knowledge-base passage about another
patient, and never from the clinical indication: an indication is a question ("left
chest pain"), not a finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class DetailKind(StrEnum):
    """Categories of patient-specific detail."""

    number = "number"
    measurement = "measurement"
    laterality = "laterality"
    location = "location"
    size = "size"
    device = "device"
    comparison = "comparison"
    redacted = "redacted"


@dataclass(frozen=True)
class Detail:
    """One detail found in a text: its kind and the words that carry it."""

    kind: DetailKind
    text: str


_PATTERNS: dict[DetailKind, re.Pattern[str]] = {
    DetailKind.measurement: re.compile(
        r"\b\d+(?:\.\d+)?\s*(?:cm|mm|centimeters?|millimeters?|ml|cc|%|percent)\b|\b\d+(?:\.\d+)?\s*x\s*\d",
        re.I,
    ),
    DetailKind.number: re.compile(
        r"\b\d+(?:\.\d+)?\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"single|multiple|several|numerous|few|couple)\b",
        re.I,
    ),
    DetailKind.laterality: re.compile(
        r"\b(?:left|right|bilateral(?:ly)?|bibasilar|bibasal|biapical|unilateral|"
        r"ipsilateral|contralateral|both)\b|\b(?:l|r)(?=\s*(?:ij|upper|lower|lung))",
        re.I,
    ),
    DetailKind.location: re.compile(
        r"\b(?:upper|middle|lower|mid)(?:[- ](?:lobes?|lungs?|zones?|lung zones?|lung fields?))?\b|"
        r"\b(?:lobes?|lobar|lingula(?:r)?|bases?|basilar|basal|basally|apex|apices|apical|hil(?:ar|um|a)|"
        r"perihilar|infrahilar|retrocardiac|subpleural|peripheral|paratracheal|axillary|"
        r"fissures?|segment(?:al)?|midlung|anterior|posterior|lateral|medial|superior|inferior|"
        r"svc|atrium|ventricle|cavoatrial|junction|tip|stomach|malpositioned|malposition|standard|"
        r"thoracic spine|ribs?|clavicle|"
        r"humer(?:us|al)|vertebra[el]?|vertebral|spine)\b",
        re.I,
    ),
    DetailKind.size: re.compile(
        r"\b(?:small|large|moderate|moderately|mild|mildly|minimal|minimally|tiny|trace|massive|"
        r"marked|markedly|severe|severely|extensive|subtle|slight|slightly|huge|minor|"
        r"significant|substantial|diffuse|patchy|streaky|linear|calcified|"
        r"loculated|tension|tortuous|largest|smallest|biggest|most|least)\b",
        re.I,
    ),
    DetailKind.device: re.compile(
        r"\b(?:pacemakers?|pacer|defibrillators?|aicd|icd|picc|mediport|port-a-cath|port|"
        r"endotracheal|enteric|nasogastric|orogastric|feeding|tracheostomy|chest tubes?|ng|og|ett|"
        r"stents?|clips?|sternotomy|wires?|leads?|drains?|cannula|coils?|prosthe(?:sis|tic)|valve|"
        r"catheters?|central (?:venous )?line|swan|jugular|subclavian|hardware|plates?|screws?|"
        r"arthroplasty|fixation|kyphoplasty|vertebroplasty|cabg)\b",
        re.I,
    ),
    DetailKind.comparison: re.compile(
        r"\b(?:compar(?:ed|ison|e)|prior|previous(?:ly)?|interval|unchanged|stable|stably|again|"
        r"redemonstrat\w*|persist(?:s|ent|ently|ing)?|new|newly|improv\w*|worsen\w*|"
        r"increas\w*|decreas\w*|resolv\w*|resolution|since|changed?|progress\w*|"
        r"evolving|recurren\w*|residual|remains?|remained|still|now|previously|old|"
        r"chronic(?:ally)?|healed|remote|known|history|postoperative|post-operative|"
        r"status post|s/p|recent|earlier|before|follow-up|followup|"
        # Change and time words: any statement that compares with an earlier study.
        r"enlarg(?:ing|ement since)|expanding|growing|grown|shrinking|shrunk|developed|"
        r"developing|appeared|re-?demonstrated|continued|continues|continuing|currently|"
        r"already|anymore|yet|lately|again|interval(?:ly)?|baseline|serial|sequential|"
        r"reaccumulat\w*|re-?expan\w*|regress\w*|clearing|cleared|returned|same|similar|"
        # Comparatives: a size or degree compared with something, i.e. an earlier study.
        r"larger|smaller|bigger|greater|lesser|more|less|higher|lower|worse|better|"
        r"reduc\w*|shrink\w*)\b",
        re.I,
    ),
    DetailKind.redacted: re.compile(r"\bX{3,}\b"),
}


def all_detail_patterns() -> tuple[re.Pattern[str], ...]:
    """Every detail pattern (the vocabulary check masks the words they account for)."""
    return tuple(_PATTERNS.values())


# Side and place words on a statement that asserts nothing present ("Both lungs are
# clear.", "No left pleural effusion.") describe the examination, not the patient.
_EXAM_KINDS = frozenset({DetailKind.laterality, DetailKind.location})


def find_details(text: str) -> list[Detail]:
    """All patient-specific details in a text, in a stable order."""
    found: list[Detail] = []
    for kind, pat in _PATTERNS.items():
        for m in pat.finditer(text):
            found.append(Detail(kind, m.group(0).lower()))
    return found


def unsupported_details(
    text: str, licensed: frozenset[str], has_prior: bool, asserts_present: bool = True
) -> list[Detail]:
    """Details in `text` that nothing licenses.

    `licensed` holds the words the label set's attributes and the prior report give. A
    comparison word is allowed only when a prior study was given; side and place words
    are not patient details when the sentence asserts no finding present or uncertain.
    """
    out = []
    for d in find_details(text):
        if d.kind is DetailKind.comparison and has_prior:
            continue
        if d.kind in _EXAM_KINDS and not asserts_present:
            continue
        words = d.text.split()
        if words and all(w in licensed for w in words):
            continue
        out.append(d)
    return out


def words_of(text: str | None) -> frozenset[str]:
    """Lower-cased words of a request text (the prior report), as detail licences."""
    return frozenset(w.lower() for w in re.findall(r"[A-Za-z]+|\d+(?:\.\d+)?", text or ""))
