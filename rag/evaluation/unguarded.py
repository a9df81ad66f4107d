"""The baseline the field uses (ChatCAD-style): labels as text, retrieved passages, an LLM,
no structured outputs and no verification. It exists to measure what the guard is worth.

Never used by the service: only `radrag eval run --generator unguarded` calls it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx

from rag.adapters.vllm_servers import split_urls
from rag.domain import FINDING_NAMES, PassageKind, State
from rag.evaluation.drafters import EvalCase, Outcome
from rag.kb.store import KnowledgeBase
from rag.labeler import split_sentences
from rag.stages.retrieve import EmbeddingRetriever

PROMPT_DIR = Path(__file__).resolve().parents[2] / "prompts" / "unguarded_chatcad" / "v1"
PROMPT_VERSION = "unguarded_chatcad/v1"
_PHRASE = {State.present: "present", State.absent: "absent", State.uncertain: "possible"}


def render(
    case: EvalCase, kb: KnowledgeBase, retriever: EmbeddingRetriever, per_finding: int = 2
) -> list[dict[str, str]]:
    """Chat messages for one case (pure apart from the retrieval it is given)."""
    system = (PROMPT_DIR / "system.txt").read_text().strip()
    template = (PROMPT_DIR / "user.txt").read_text()
    labels = "\n".join(
        f"- {FINDING_NAMES[f]}: {_PHRASE[lab.state]}" for f, lab in case.labels.findings.items()
    )
    evidence = retriever.retrieve(kb, case.labels)
    passages = []
    for evs in evidence.values():
        shown = [e.passage.text for e in evs if e.passage.kind is not PassageKind.definition]
        passages += shown[:per_finding]
    user = template.format(
        labels=labels,
        passages="\n".join(f"- {p}" for p in passages),
        indication=case.indication or "none",
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class UnguardedLLMDrafter:
    """Plain chat completion through an OpenAI-compatible server; text returned as is."""

    name = "unguarded"

    def __init__(
        self,
        base_url: str,
        model: str,
        kb: KnowledgeBase,
        retriever: EmbeddingRetriever,
        max_tokens: int = 256,
        timeout_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model, self.kb, self.retriever, self.max_tokens = model, kb, retriever, max_tokens
        # Several servers (comma-separated): taken in turn; the baseline has no breakers.
        self._clients = [
            httpx.Client(base_url=u, timeout=timeout_s, transport=transport)
            for u in split_urls(base_url)
        ]
        self._turn = itertools.count()

    def draft(self, case: EvalCase) -> Outcome:
        """One completion; an error is an abstention (nothing to score), never a crash."""
        body = {
            "model": self.model,
            "messages": render(case, self.kb, self.retriever),
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }
        try:
            client = self._clients[next(self._turn) % len(self._clients)]
            r = client.post("/v1/chat/completions", json=body)
            r.raise_for_status()
            text = r.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, ValueError):
            return Outcome("abstained", [], ["generator_unavailable"])
        text = text.replace("FINDINGS:", " ").replace("IMPRESSION:", " ")
        sents = split_sentences(text)
        if not sents:
            return Outcome("abstained", [], ["generator_invalid_output"])
        # No confidence signal: every draft ties, so its coverage-risk curve is flat.
        return Outcome("drafted", sents, [], 0.0)
