"""Sentence checks the challenge set measures: the verifier, any other check, and their AND.

A check is anything with a `name` and `verdict(text, labels, indication, prior) -> bool`
(True: supported). The verifier is one; an independent check (a different engine and
vocabulary) is another; `AllOf` is the guard that passes a text only when every check does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.domain import LabelSet, Verdict
from rag.ports import Labeler
from rag.stages.verify import verify_text


class Check(Protocol):
    """Says whether a text is supported by a label set and the request."""

    name: str

    def verdict(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> bool:
        """True when every sentence of the text is supported."""
        ...


@runtime_checkable
class Explains(Protocol):
    """A check that can also say why (used only to list the misses)."""

    def explain(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> list[str]:
        """Machine-readable reasons for the verdict."""
        ...


class VerifierCheck:
    """The project's verifier (rag/stages/verify.py) as a check."""

    def __init__(self, labeler: Labeler, name: str = "verifier") -> None:
        self.labeler, self.name = labeler, name

    def verdict(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> bool:
        """Supported when there is a sentence and every sentence is supported."""
        verdicts = verify_text(text, labels, self.labeler, indication, prior)
        return bool(verdicts) and all(v.verdict is Verdict.supported for v in verdicts)

    def explain(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> list[str]:
        """The verifier's reasons, sentence by sentence."""
        verdicts = verify_text(text, labels, self.labeler, indication, prior)
        if not verdicts:
            return ["no_sentence"]
        return [r for v in verdicts for r in v.reasons]


class AllOf:
    """The combined guard: supported only when every check finds the text supported."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = list(checks)
        self.name = "all(" + "+".join(c.name for c in self.checks) + ")"

    def verdict(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> bool:
        """True only when no check objects."""
        return all(c.verdict(text, labels, indication, prior) for c in self.checks)

    def explain(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> list[str]:
        """Each objecting check's name, with its reasons when it gives them."""
        out = []
        for c in self.checks:
            if not c.verdict(text, labels, indication, prior):
                why = c.explain(text, labels, indication, prior) if isinstance(c, Explains) else []
                out.append(f"{c.name}: {'; '.join(why) or 'unsupported'}")
        return out


class CrossCheck:
    """The independent check (medspaCy ConText, rag/crosscheck) alone, sentence by sentence."""

    def __init__(
        self, checker: object | None = None, allow_denied_ooo: bool = False, name: str = ""
    ) -> None:
        from rag.crosscheck import ContextChecker

        self.checker = checker if isinstance(checker, ContextChecker) else ContextChecker()
        self.allow_denied_ooo = allow_denied_ooo
        self.name = name or ("crosscheck" + ("+denied_ooo" if allow_denied_ooo else ""))

    def explain(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> list[str]:
        """The check's reasons for every sentence it splits the text into."""
        from rag.crosscheck import cross_verdict

        sentences = self.checker.sentences(text)
        if not sentences:
            return ["no_sentence"]
        return [
            r
            for s in sentences
            for r in cross_verdict(
                self.checker.read(s), labels, allow_denied_out_of_ontology=self.allow_denied_ooo
            )[1]
        ]

    def verdict(
        self, text: str, labels: LabelSet, indication: str | None, prior: str | None
    ) -> bool:
        """Supported when the check reads at least one sentence and objects to none."""
        return not self.explain(text, labels, indication, prior)
