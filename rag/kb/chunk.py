"""Normalise and chunk long texts into bounded, overlapping passages (pure functions)."""

from __future__ import annotations

import re

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def normalise(text: str) -> str:
    """Collapse whitespace (documents arrive with hard wraps and indentation)."""
    return " ".join(text.split())


def chunk_text(text: str, max_chars: int = 800, overlap: int = 150) -> list[str]:
    """Split normalised text at sentence ends into chunks of at most `max_chars`.

    Consecutive chunks share about `overlap` characters of whole sentences so a fact cut
    at a boundary is still retrievable; a text that fits is one chunk.
    """
    if max_chars <= overlap:
        raise ValueError("max_chars must exceed overlap")
    text = normalise(text)
    if len(text) <= max_chars:
        return [text] if text else []
    sentences: list[str] = []
    for s in _SENT_END.split(text):
        # A "sentence" longer than a chunk (lists without periods) is cut at spaces.
        while len(s) > max_chars:
            cut = s.rfind(" ", 0, max_chars) if " " in s[:max_chars] else max_chars
            sentences.append(s[:cut])
            s = s[cut:].lstrip()
        if s:
            sentences.append(s)
    chunks: list[str] = []
    cur: list[str] = []
    for s in sentences:
        if cur and len(" ".join([*cur, s])) > max_chars:
            chunks.append(" ".join(cur))
            tail: list[str] = []
            for prev in reversed(cur):  # carry whole trailing sentences as the overlap
                if len(" ".join([prev, *tail])) > overlap:
                    break
                tail.insert(0, prev)
            cur = tail if len(" ".join([*tail, s])) <= max_chars else []
        cur.append(s)
    if cur:
        chunks.append(" ".join(cur))
    return chunks
