"""Build the verifier's neutral-word list from human-annotated normal IU X-ray reports.

A word is neutral when radiologists use it at least MIN_COUNT times in reports that the
IU MeSH annotators marked "normal" (train and validation splits only; never test):
in affirmative sentences (they describe normal anatomy: "The heart is normal in size.").
Words of negated sentences are not taken wholesale ("no free air under the diaphragm"
would make "free" and "air" neutral); only the reviewed CONTEXT words below, which those
sentences use around a negated finding ("no focal acute abnormality"), are added. A short
reviewed DENY list removes words that name an abnormality or a body part outside the
chest and slipped in through affirmative sentences ("mild degenerative changes of the
knee", "air and stool in the colon").
Every other word in a drafted sentence must be a finding mention, a cue, a detail the
request licenses, or it is refused (rag/labeler/vocabulary.py).

Usage: .venv/bin/python scripts/build_neutral_words.py   (needs the IU assets: make kb)
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

from rag.adapters.iu_xray import assign_split, load_reports
from rag.config import get_settings
from rag.kb.sources import iu_reports_dir
from rag.labeler import lexicon as lx
from rag.labeler import split_sentences

MIN_COUNT = 3
# Reviewed: abnormalities and extra-thoracic body parts found in affirmative normal sentences.
DENY = {
    "abdomen",
    "ankle",
    "compartment",
    "degenerative",
    "engorgement",
    "foot",
    "joint",
    "knee",
    "lumbar",
    "air",
    "stool",
    "colon",
    "bowel",
}
# Reviewed: the context words of negated normal sentences (count >= 3 there) that name
# no finding, device or body part outside the chest.
CONTEXT = {
    # From IU validation false alarms: words about the examination, not the patient.
    "shape",
    "technique",
    "overt",
    "ray",
    # Linking verbs of hedged, affirmed and device statements ("may represent", "in place").
    # The suffixes of "left-sided" and "moderate-sized" (the side or size itself is checked
    # as a detail, licensed by the attributes); the style writes them.
    "sided",
    "sized",
    "represent",
    "represents",
    "reflect",
    "reflects",
    "compatible",
    "consistent",
    "indicate",
    "indicating",
    "suggesting",
    "suggestive",
    "in",
    "place",
    "position",
    "positioned",
    "abnormal",
    "abnormalities",
    "abnormality",
    "active",
    "acute",
    "any",
    "appearing",
    "areas",
    "bone",
    "bones",
    "convincing",
    "definite",
    "demonstrate",
    "demonstrated",
    "diaphragm",
    "discrete",
    "evidence",
    "finding",
    "findings",
    "focal",
    "gross",
    "identified",
    "intrathoracic",
    "obvious",
    "on",
    "parenchymal",
    "process",
    "radiographic",
    "remarkable",
    "reveal",
    "significant",
    "specifically",
    "suggest",
    "suspicious",
    "typical",
    "visible",
}
OUT = Path(__file__).resolve().parents[1] / "rag" / "labeler" / "data" / "neutral_words.txt"
_HEDGE = re.compile(r"\b(?:unlikely|doubtful|question)\b|\?", re.I)


def main() -> None:
    """Count words of affirmative sentences in normal train/validation reports."""
    reports = load_reports(iu_reports_dir(get_settings().assets_dir))
    counts: collections.Counter[str] = collections.Counter()
    n_reports = 0
    for rid, r in reports.items():
        if assign_split(rid) == "test" or [m.lower() for m in r.mesh_major] != ["normal"]:
            continue
        n_reports += 1
        for s in split_sentences(f"{r.findings}\n{r.impression}"):
            cued = (lx.PRE_NEGATION, lx.PRE_UNCERTAINTY, lx.NEGATED_UNCERTAINTY, _HEDGE)
            if any(p.search(s) for p in cued) or re.search(r"X{3,}", s):
                continue
            counts.update(w.lower() for w in re.findall(r"[A-Za-z]+", s))
    frequent = {w for w, n in counts.items() if n >= MIN_COUNT and len(w) > 1}
    words = sorted((frequent | CONTEXT) - DENY)
    header = (
        f"# neutral words: affirmative sentences of {n_reports} IU X-ray train/validation reports"
        f" whose MeSH annotation is 'normal', count >= {MIN_COUNT}, plus reviewed context words"
        " (scripts/build_neutral_words.py)"
    )
    OUT.write_text(header + "\n" + "\n".join(words) + "\n")
    print(f"{len(words)} words -> {OUT}")


if __name__ == "__main__":
    main()
