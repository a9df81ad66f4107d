"""Surface checks: text a generator could use to smuggle content past sentence reading.

The readers downstream see words; these checks make sure the words are all there is:
no second sentence hidden behind a line break or control character, no letters that only
look Latin (Cyrillic "е" in "еffusion" would hide a mention from every pattern), no
markup, and no sentence long enough to bury a claim in a list.
"""

from __future__ import annotations

import re
import unicodedata

# Plain report prose: letters, digits, spaces and ordinary punctuation.
_ALLOWED = re.compile(r"[A-Za-z0-9 .,;:()'\"/%+-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029]")
_INNER_STOP = re.compile(r"(?<!\d)[.!?]+\s+[A-Za-z0-9]")
MAX_WORDS = 40
MAX_CHARS = 300


def normalise(text: str) -> str:
    """NFKC-normalised text with typographic quotes and dashes made ASCII."""
    table = {0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2013: "-", 0x2014: "-"}
    return unicodedata.normalize("NFKC", text).translate(table).strip()


def surface_problems(text: str, sentences_in_text: int) -> list[str]:
    """Reasons the text cannot be read as one plain sentence (empty when it can)."""
    problems: list[str] = []
    if _CONTROL.search(text):
        problems.append("smuggled_text:control_or_line_break")
    plain = normalise(text)
    if not _ALLOWED.fullmatch(plain):
        problems.append("smuggled_text:non_ascii_or_markup")
    # A full stop inside the text ends a sentence even before a lower-case word: "No
    # effusion. cardiomegaly." is two statements, whatever the splitter made of it.
    if sentences_in_text > 1 or _INNER_STOP.search(plain):
        problems.append("smuggled_text:several_sentences")
    if len(plain) > MAX_CHARS or len(plain.split()) > MAX_WORDS:
        problems.append(f"smuggled_text:over_long (>{MAX_WORDS} words or >{MAX_CHARS} chars)")
    return problems
