"""Target terms for the independent check, built from the radiology-semantic-dict package.

The project's rule labeler has its own hand lexicon; this check must not share it, so its
terms come from another source:
- the package's concepts (names and synonyms), imaging findings and imaging signs;
- a mapping from a few of the package's concept and finding *names* onto the 14 findings
  (every term of a mapped entry reads as that finding; every other term is out of ontology);
- what the package lacks for plain-film reports (devices, `airspace disease`, normal
  statements such as `heart size is normal`), taken from frequent phrasings in the IU X-ray
  train split, never from its test split.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.domain import FINDING_NAMES, Finding

F = Finding

# Package entries (concept or imaging-finding names) whose name and synonyms name one of
# the 14 findings. Names are the package's own spelling.
FINDING_ANCHORS: dict[Finding, tuple[str, ...]] = {
    F.pneumothorax: ("Pneumothorax", "Tension pneumothorax", "Pneumothorax with tension"),
    F.pleural_effusion: (
        "Pleural effusion",
        "Pleural effusions",
        "Small laminar pleural effusions",
        "Pleural Effusion Depth",
    ),
    F.atelectasis: ("Atelectasis", "Dependent atelectasis"),
    F.pneumonia: ("Pneumonia", "Fungal pneumonia", "Bacterial Pneumonia (secondary to FBA)"),
    F.edema: ("Pulmonary edema", "Cardiogenic pulmonary edema", "Pulmonary edema (from PDA)"),
    F.lung_lesion: (
        "Lung nodule",
        "Lung nodules",
        "Pulmonary Nodule",
        "Pulmonary Nodules",
        "Small pulmonary nodule",
        "Solitary pulmonary nodule",
        "Solitary Pulmonary Nodule (SPN)",
        "Lung mass",
        "Benign lung lesion",
        "Nodule",
    ),
    F.cardiomegaly: ("Cardiomegaly", "Mild cardiomegaly"),
    F.consolidation: (
        "Consolidation",
        "Consolidations",
        "Pulmonary consolidation",
        "Consolidation with air bronchograms",
        "Air Bronchogram",
    ),
    F.lung_opacity: (
        "Ground-glass opacity",
        "Ground-glass opacities",
        "Coarse Opacities",
        "Infiltrates",
        "Bilateral perihilar opacities",
        "ggo",
    ),
    F.enlarged_cardiomediastinum: ("Widened Mediastinum",),
    F.pleural_other: ("Pleural scarring",),
    F.support_devices: (
        "Normal PICC line position",
        "picc",
        "peripherally inserted central catheter",
    ),
    F.fracture: ("Fracture", "Fractures"),
}

# Synonyms a package entry lists that name something else on a chest film (a stable
# opacity is not a nodule; "compressed lung" is not a pneumothorax's name).
_BAD_SYNONYMS = frozenset(
    {
        "stable lung opacity",
        "compressed lung",
        "lung spot",
        "lung spots",
        "life-threatening pneumothorax",
        "lung water accumulation",
        "cardiac lung water",
        "skeletal disruption",
        "skeletal disruptions",
        "break",
        "broken",
        "disruption",
        "infection",
    }
)

# Plain-film names the package lacks, from frequent IU X-ray train phrasings.
RADIOGRAPH_TERMS: dict[Finding, tuple[str, ...]] = {
    F.pneumothorax: ("pneumothoraces", "ptx", "pneumothoraxes"),
    F.pleural_effusion: (
        "effusions",
        "pleural fluid",
        "blunting of the costophrenic angle",
        "blunting of the costophrenic angles",
        "blunted costophrenic angle",
        "blunted costophrenic angles",
        "costophrenic blunting",
    ),
    F.atelectasis: ("atelectatic", "volume loss", "subsegmental atelectasis", "collapse"),
    F.pneumonia: ("pneumonias", "pneumonitis", "bronchopneumonia"),
    F.edema: (
        "edema",
        "interstitial edema",
        "vascular congestion",
        "pulmonary vascular congestion",
        "fluid overload",
        "kerley b lines",
    ),
    F.lung_lesion: (
        "nodules",
        "mass",
        "masses",
        "lung lesion",
        "pulmonary mass",
        "nodular density",
    ),
    F.cardiomegaly: (
        "enlarged heart",
        "cardiac enlargement",
        "enlarged cardiac silhouette",
        "enlargement of the cardiac silhouette",
        "enlarged cardiac contour",
    ),
    F.consolidation: ("consolidative", "airspace consolidation", "air space consolidation"),
    F.lung_opacity: (
        "opacity",
        "opacities",
        "opacification",
        "infiltrate",
        "airspace disease",
        "air space disease",
        "airspace opacity",
        "air space opacity",
        "airspace opacities",
        "density",
        "densities",
    ),
    F.enlarged_cardiomediastinum: (
        "mediastinal widening",
        "widened mediastinum",
        "enlarged cardiomediastinal silhouette",
        "cardiomediastinal enlargement",
    ),
    F.pleural_other: ("pleural thickening", "pleural plaque", "pleural plaques", "fibrothorax"),
    F.support_devices: (
        "support device",
        "support devices",
        "pacemaker",
        "pacer",
        "dual-chamber pacemaker",
        "defibrillator",
        "aicd",
        "icd",
        "catheter",
        "central line",
        "central venous catheter",
        "picc line",
        "port-a-cath",
        "endotracheal tube",
        "et tube",
        "nasogastric tube",
        "ng tube",
        "enteric tube",
        "feeding tube",
        "chest tube",
        "tracheostomy tube",
        "pacing leads",
        "pacemaker leads",
        # IU X-ray's MeSH annotators file these under devices and surgical instruments.
        "sternotomy wires",
        "sternal wires",
        "median sternotomy wires",
        "surgical clips",
        "surgical clip",
        "vascular clips",
        "cabg markers",
        "stent",
        "prosthetic valve",
    ),
    F.fracture: ("fx", "rib fracture", "rib fractures"),
}

# Abnormal findings that recur in IU X-ray train reports and are missing from the package
# (or spelled differently there); they are out of ontology like the package's own.
RADIOGRAPH_OUT_OF_ONTOLOGY: tuple[str, ...] = (
    "degenerative change",
    "degenerative changes",
    "spondylosis",
    "scoliosis",
    "kyphosis",
    "osteopenia",
    "tortuous aorta",
    "tortuosity",
    "ectatic",
    "atherosclerotic",
    "atherosclerosis",
    "calcified granuloma",
    "calcified granulomas",
    "granuloma",
    "granulomas",
    "granulomatous disease",
    "hiatal hernia",
    "hernia",
    "emphysema",
    "copd",
    "hyperinflation",
    "hyperinflated",
    "hyperexpanded",
    "scarring",
    "scar",
    "fibrosis",
    "bronchiectasis",
    "lymphadenopathy",
    "adenopathy",
    "sternotomy",
    "cholecystectomy",
    "cabg",
    "calcification",
    "calcifications",
    "eventration",
    "elevated hemidiaphragm",
    "elevation of the hemidiaphragm",
    "free air",
    "pneumoperitoneum",
    "pneumomediastinum",
    "subcutaneous emphysema",
    "soft tissue edema",
    "soft tissue swelling",
    "mediastinal mass",
    "hilar mass",
    "cardiac valve",
    "aortic valve replacement",
    "cyst",
    "bulla",
    "bullae",
    "cavitation",
    "cavity",
)

# Generic words that name no abnormality by themselves on a chest film, though the package
# lists them as a concept or synonym (found by running the check over IU train reports that
# MeSH annotators marked normal).
_GENERIC = frozenset(
    {
        "normal",
        "absent",
        "present",
        "abnormality",
        "abnormalities",
        "finding",
        "findings",
        "lesion",
        "lesions",
        "growth",
        "node",
        "nodular",
        "displacement",
        "protrusion",
        "enhancing",
        "solid",
        "infection",
        "chest infection",
        "fluid retention",
        "fluid collection",
        "fluid accumulation",
        "transition zone",
        "border zone",
        "interface region",
        "washout",
        "target sign",
        "collapse",
        "congestion",
        "tissue swelling",
        "swelling",
        "acute",
        "chronic",
        "stable",
        "intact",
        "clear",
        "midline",
        "silhouette sign",
        "silhouette",
        "deep sulcus sign",
        "foreign body",
        "fb",
        "disease",
        "process",
        "pattern",
        "appearance",
        "edema pattern",
        "edema line",
        "diffuse edema",
        "air in pleural space",
        "collapsed lung",
        "pulmonary collapse",
        "lung collapse",
        "osseous",
        "bone",
        "injury",
        "collection",
        "collections",
        "secondary",
        "location",
        "rotation",
        "head",
        "shape",
        "round",
        "both lungs",
        "all",
        "normal variant",
        "artifact",
        "infections",
        "narrowing",
        "tumor",
        "neoplasm",
        "malignancy",
    }
)

_FILM_MODALITIES = frozenset({"XR", "CT", "CT/MRI", "MRI/CT", "CTA", "Fluoroscopy", ""})
_ABBREVIATION = re.compile(r"^[A-Z]{3,6}s?$")
_BAD_CHARS = re.compile(r"[0-9<>%=+:;,?]")


@dataclass(frozen=True)
class Vocabulary:
    """Lower-cased term -> finding (None: a radiology term outside the 14 findings)."""

    terms: dict[str, Finding | None]

    def findings_terms(self, finding: Finding) -> list[str]:
        """The terms that read as one finding."""
        return sorted(t for t, f in self.terms.items() if f is finding)

    def out_of_ontology_terms(self) -> list[str]:
        """The terms that read as a radiology concept outside the 14 findings."""
        return sorted(t for t, f in self.terms.items() if f is None)


def _clean(raw: str) -> list[str]:
    """A package name or synonym as zero or more matchable lower-case terms."""
    out = []
    text = re.sub(r"\([^)]*\)", " ", raw)
    for part in text.split("/"):
        words = part.split()
        term = " ".join(words)
        if not term:
            continue
        if _ABBREVIATION.match(term):
            out.append(term.lower())
            continue
        if _BAD_CHARS.search(term) or len(words) > 4 or len(term) < 4:
            continue
        out.append(term.lower())
    return out


def _data_dir() -> Path:
    import radiology_semantic

    return Path(radiology_semantic.__file__).parent / "data"


def _entries(data: Path) -> dict[str, list[str]]:
    """Every package entry of a radiology abnormality: name -> its names and synonyms."""
    concepts = json.loads((data / "medical_concepts.json").read_text())
    findings = json.loads((data / "imaging_findings.json").read_text())
    signs = json.loads((data / "imaging_signs.json").read_text())
    synonyms = json.loads((data / "radiology_synonyms.json").read_text())
    out: dict[str, list[str]] = {}
    for c in concepts:
        # Modalities, physics and techniques are ways of imaging, not things in a patient.
        if c["concept_type"] in ("pathology", "finding"):
            out.setdefault(c["name"], []).extend([c["name"], *c.get("synonyms", [])])
    for f in findings:
        # MRI, ultrasound and nuclear-medicine signal words never occur on a chest film.
        if f.get("modality", "") in _FILM_MODALITIES or f["name"] in _ANCHOR_NAMES:
            out.setdefault(f["name"], []).append(f["name"])
    for s in signs.values():
        out.setdefault(s["name"], []).append(s["name"])
    # The synonym table only enriches entries that exist (it also holds anatomy and physics).
    for name, names in out.items():
        names.extend(synonyms.get(name.lower(), []))
    # Lower-case anchors ("ggo", "picc") are keys of the synonym table only.
    for key, values in synonyms.items():
        if key in _ANCHOR_KEYS:
            out.setdefault(key, []).extend([key, *values])
    return out


_ANCHOR_NAMES = frozenset(n for names in FINDING_ANCHORS.values() for n in names)
_ANCHOR_KEYS = frozenset(n for names in FINDING_ANCHORS.values() for n in names if n.lower() == n)

# A package term whose head noun is one of these names that finding, whatever its
# qualifiers ("tension pneumothorax", "rib fracture", "aspiration pneumonia").
_HEADS: tuple[tuple[str, Finding], ...] = (
    ("pneumothorax", F.pneumothorax),
    ("pneumonia", F.pneumonia),
    ("pneumonias", F.pneumonia),
    ("fracture", F.fracture),
    ("fractures", F.fracture),
    ("atelectasis", F.atelectasis),
    ("pleural effusion", F.pleural_effusion),
    ("pleural effusions", F.pleural_effusion),
    ("pulmonary edema", F.edema),
    ("pulmonary nodule", F.lung_lesion),
    ("pulmonary nodules", F.lung_lesion),
    ("lung nodule", F.lung_lesion),
    ("lung nodules", F.lung_lesion),
    ("consolidation", F.consolidation),
    ("consolidations", F.consolidation),
)


def _by_head(term: str) -> Finding | None:
    return next((f for head, f in _HEADS if term == head or term.endswith(" " + head)), None)


@lru_cache(maxsize=1)
def build_vocabulary() -> Vocabulary:
    """The term table: anchored package entries and plain-film names, then the rest."""
    entries = _entries(_data_dir())
    terms: dict[str, Finding | None] = {}
    for finding, names in FINDING_ANCHORS.items():
        for name in names:
            if name not in entries:
                raise LookupError(f"radiology-semantic-dict has no entry {name!r}")
            # An anchor's own name outranks another anchor's synonym ("consolidation" is
            # listed as a synonym of pneumonia).
            terms.update((t, finding) for t in _clean(name))
    for finding, names in FINDING_ANCHORS.items():
        for name in names:
            for raw in entries[name]:
                for t in _clean(raw):
                    if t not in _BAD_SYNONYMS and t not in _GENERIC:
                        terms.setdefault(t, finding)
    for finding, names in RADIOGRAPH_TERMS.items():
        for t in names:
            terms[t] = finding
    # The ontology's own display names: prompts show them, so drafts use them
    # ("Enlarged cardiomediastinum: absent", "Pleural abnormality: absent").
    for finding, name in FINDING_NAMES.items():
        if finding is not F.no_finding:
            terms[name] = finding
    for raw_list in entries.values():
        for raw in raw_list:
            for t in _clean(raw):
                # Lone adjectives ("bilateral", "cortical") name a place, not a finding,
                # as do short common words the package lists ("both", "head").
                single = " " not in t and not _ABBREVIATION.match(raw.strip())
                vague = single and (t.endswith(("al", "ar", "ior")) or len(t) < 5)
                if t in _GENERIC or t in _BAD_SYNONYMS or t in terms or vague:
                    continue
                terms[t] = _by_head(t)
    for t in RADIOGRAPH_OUT_OF_ONTOLOGY:
        terms.setdefault(t, None)
    return Vocabulary(terms)
