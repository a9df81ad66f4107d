"""What an evaluation run drafts with and over: its cases, drafter, image gate, provenance.

This lives apart from the command line because two places must build the same thing: the
`radrag eval run` process for a local run, and every Ray worker (`worker_scorer`, which
Ray pickles by reference, so workers import it from this module). Keeping both on these
functions is what makes a Ray run's results.json byte-identical to a local run's.

Heavy imports stay inside the functions: a Ray driver builds no embedder, KB or generator,
and should not pay for importing them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.adapters.image_encoders.base import CalibratedImageEncoder
    from rag.adapters.iu_xray import IUReport
    from rag.config import Settings
    from rag.crosscheck import ContextChecker
    from rag.evaluation.drafters import Drafter, EvalCase
    from rag.evaluation.executors import Scorer
    from rag.ports import ImageEncoder, Labeler
    from rag.services import Services


class GeneratorChoice(StrEnum):
    """Generators an evaluation run can use."""

    extractive = "extractive"
    retrieval = "retrieval"
    vllm = "vllm"  # the guarded LLM generator (needs `make vllm`)
    unguarded = "unguarded"  # ChatCAD-style baseline on the same server, no guard
    # Not a generator: the reference's sentences that pass the guard (BLEU/ROUGE ceiling).
    reference_ceiling = "reference-ceiling"


class NoKnowledgeBase(RuntimeError):
    """Nothing is published to draft from (the command exits 1 with this message)."""


def iu_reports(settings: Settings | None = None) -> dict[str, IUReport]:
    """The IU X-ray reports of the configured assets."""
    from rag.adapters.iu_xray import load_reports
    from rag.adapters.registry_assets import iu_reports_dir
    from rag.config import get_settings

    return load_reports(iu_reports_dir((settings or get_settings()).assets_dir))


def iu_split_cases(
    split: str, limit: int | None, reports: Mapping[str, IUReport]
) -> tuple[list[EvalCase], int]:
    """Oracle-labelled IU cases of a split, and how many had nothing to draft."""
    from rag.adapters.iu_xray import read_split
    from rag.evaluation.runner import iu_cases
    from rag.kb.sources import SPLIT_DIR
    from rag.labeler import RuleLabeler

    return iu_cases(reports, read_split(SPLIT_DIR, split), RuleLabeler(), limit)


def encoder_identity(source: str) -> str:
    """Digest of the encoder's weights and guard calibration (resumed runs must match)."""
    root = Path(source)
    h = hashlib.sha256(source.encode())
    names = ("model.safetensors", "model.pth.tar", "model.pth", "model.pt", "weights.pt")
    names += ("encoder.json", "label_map.json", "calibration.json", "ood.json")
    for name in (*names, "guard_calibration.json"):
        if (root / name).is_file():
            h.update((root / name).read_bytes())
    return h.hexdigest()[:16]


def encoder_cases(
    encoder: ImageEncoder, settings: Settings, data: Path, split: str, limit: int | None
) -> tuple[list[EvalCase], dict[str, object], dict | None]:
    """NIH cases labelled by the image encoder, the config they add, its guard file."""
    from rag.evaluation.image_cases import data_digest, nih_cases

    guard: dict | None = getattr(encoder, "guard_calibration", None)
    nih_split = "valid" if split == "validation" else split
    config: dict[str, object] = {
        "split": nih_split,
        "reference": "nih_labels",
        "data_sha256": data_digest(data),
        "encoder": encoder.id,
        "encoder_sha256": encoder_identity(settings.image_encoder),
        "encoder_guard_certified": None if guard is None else bool(guard["certified"]),
    }
    return nih_cases(data, nih_split, encoder, limit), config, guard


def load_configured_image_encoder(settings: Settings) -> CalibratedImageEncoder:
    """The configured image encoder, without the rest of the services (a Ray driver)."""
    from rag.adapters.image_encoders import load_image_encoder

    s = settings
    return load_image_encoder(
        s.image_encoder, s.image_encoder_kind, s.image_encoder_device, s.image_encoder_dtype
    )


def published_kb_version(settings: Settings) -> str:
    """The published KB version, read without loading it (a Ray driver loads no KB)."""
    from rag.kb.store import current_version

    version = current_version(settings.kb_root)
    if version is None:
        raise NoKnowledgeBase(
            f"no knowledge base: none is published under {settings.kb_root}; run `radrag kb ensure`"
        )
    return version


def provenance(generator: GeneratorChoice, settings: Settings, kb_version: str | None) -> dict:
    """What a run's drafts depend on besides the cases: KB version, model, prompt.

    Read from settings and files alone, so a command whose drafting runs on Ray workers
    stamps the same configuration as a local run without building a generator.
    """
    if generator in (GeneratorChoice.retrieval, GeneratorChoice.reference_ceiling):
        return {"kb_version": None, "model": None, "prompt_version": None}
    if generator is GeneratorChoice.unguarded:
        from rag.evaluation.unguarded import PROMPT_VERSION

        return {
            "kb_version": kb_version,
            "model": settings.vllm_model,
            "prompt_version": PROMPT_VERSION,
        }
    if generator is GeneratorChoice.vllm:
        from rag.prompts import load_prompt

        prompt = load_prompt("draft_report", settings.prompt_version)
        return {"kb_version": kb_version, "model": settings.vllm_model, "prompt_version": prompt.id}
    return {"kb_version": kb_version, "model": None, "prompt_version": None}


def build_drafter(
    generator: GeneratorChoice,
    svc: Services | None,
    reports: Mapping[str, IUReport],
    labeler: Labeler,
) -> Drafter:
    """The drafter of a generator (its provenance: `provenance`).

    `svc` is None only where no KB is loaded: the retrieval baseline reads none.
    """
    from rag.adapters.iu_xray import read_split
    from rag.evaluation.drafters import GuardedDrafter, RetrievalBaseline
    from rag.kb.sources import SPLIT_DIR

    if generator is GeneratorChoice.retrieval:
        train = [reports[i] for i in read_split(SPLIT_DIR, "train")]
        return RetrievalBaseline(train, labeler)
    if generator is GeneratorChoice.reference_ceiling:
        from rag.crosscheck.verdict import ContextSentenceCheck
        from rag.evaluation.drafters import ReferenceCeiling

        return ReferenceCeiling(labeler, ContextSentenceCheck())
    kb, settings = svc.kb.get(), svc.settings  # type: ignore[union-attr]
    if generator is GeneratorChoice.unguarded:
        from rag.evaluation.unguarded import UnguardedLLMDrafter

        return UnguardedLLMDrafter(
            settings.vllm_url, settings.vllm_model, kb, svc.pipeline.retriever
        )
    return GuardedDrafter(svc.pipeline, generator.value)


def image_gated(drafter: Drafter, guard: dict | None, lift: bool) -> Drafter:
    """The guarded generators on images are the service, so they get its image gate."""
    from rag.evaluation.image_cases import ImagePathDrafter

    return ImagePathDrafter(drafter, guard, lift=lift)


def image_guard_for(
    generator: GeneratorChoice, guard: dict | None, uncertified_encoder_ok: bool
) -> tuple[dict | None, bool] | None:
    """`(guard, lift)` for the guarded generators on images; None for the baselines."""
    if generator not in (GeneratorChoice.extractive, GeneratorChoice.vllm):
        return None  # the baselines have no guard of any kind: that is what they measure
    # Only the explicit research option lifts the gate's risk_not_certified part.
    lift = uncertified_encoder_ok and (guard is None or not guard["certified"])
    return guard, lift


def independent_judge() -> ContextChecker:
    """The independent check, as the second judge of every draft."""
    from rag.crosscheck import ContextChecker

    return ContextChecker()


def worker_scorer(
    settings: Settings,
    generator: GeneratorChoice,
    image_guard: tuple[dict | None, bool] | None,
    judge: bool = False,
    kb_version: str | None = None,
) -> Scorer:
    """Build a run's drafter, labeler and judge in a Ray worker, as the driver does.

    `image_guard` is `(guard, lift)` when the drafter gets the image gate, None when it
    gets no gate at all. `kb_version` is the version the command stamped into the run's
    configuration; a worker that loads another one fails. Picklable (a module-level
    function under functools.partial).
    """
    from rag.evaluation.runner import scorer
    from rag.kb.store import expect_version
    from rag.labeler import RuleLabeler
    from rag.services import build_services

    labeler = RuleLabeler()
    svc = build_services(settings) if generator is not GeneratorChoice.retrieval else None
    if svc is not None and generator is not GeneratorChoice.reference_ceiling:
        expect_version(svc.kb.get().version, kb_version, settings.kb_root)
    reports = iu_reports(settings) if generator is GeneratorChoice.retrieval else {}
    drafter = build_drafter(generator, svc, reports, labeler)
    if image_guard is not None:
        drafter = image_gated(drafter, *image_guard)
    return scorer(drafter, labeler, independent_judge() if judge else None)
