"""Radiology ConText rules and plain-film statements for the independent check.

Written for this check alone (the project's rule labeler has its own cue lists): ConText
cues in radiology conventions, clause boundaries, and the statements of normality that
plain-film reports use instead of naming a finding (`heart size is normal`). The phrasings
come from frequent sentences of the IU X-ray train split.
"""

from __future__ import annotations

from rag.domain import Finding

F = Finding

# ConText categories the checker reads (medspaCy's own default rules are not loaded).
NEGATED = "NEGATED_EXISTENCE"
POSSIBLE = "POSSIBLE_EXISTENCE"
UNLIKELY = "UNLIKELY"  # a hedge toward absence: uncertain or absent
HYPOTHETICAL = "HYPOTHETICAL"
PSEUDO = "PSEUDO"  # looks like a cue, is not one ("no change in")

FORWARD, BACKWARD, BOTH = "FORWARD", "BACKWARD", "BIDIRECTIONAL"

# (phrase, category, direction)
CUES: tuple[tuple[str, str, str], ...] = (
    # absence
    ("no", NEGATED, FORWARD),
    ("not", NEGATED, FORWARD),
    ("without", NEGATED, FORWARD),
    ("no evidence of", NEGATED, FORWARD),
    ("no radiographic evidence of", NEGATED, FORWARD),
    ("no signs of", NEGATED, FORWARD),
    ("no sign of", NEGATED, FORWARD),
    ("no definite", NEGATED, FORWARD),
    ("negative for", NEGATED, FORWARD),
    ("free of", NEGATED, FORWARD),
    ("clear of", NEGATED, FORWARD),
    ("absence of", NEGATED, FORWARD),
    ("resolution of", NEGATED, FORWARD),
    ("nor", NEGATED, FORWARD),
    ("neither", NEGATED, FORWARD),
    ("no longer", NEGATED, FORWARD),
    ("absent", NEGATED, BACKWARD),
    ("is absent", NEGATED, BACKWARD),
    ("are absent", NEGATED, BACKWARD),
    ("not seen", NEGATED, BACKWARD),
    ("not identified", NEGATED, BACKWARD),
    ("not present", NEGATED, BACKWARD),
    ("not visualized", NEGATED, BACKWARD),
    ("not demonstrated", NEGATED, BACKWARD),
    ("not evident", NEGATED, BACKWARD),
    ("resolved", NEGATED, BACKWARD),
    ("has resolved", NEGATED, BACKWARD),
    ("is excluded", NEGATED, BACKWARD),
    ("ruled out", NEGATED, BACKWARD),
    ("removed", NEGATED, BACKWARD),
    ("has been removed", NEGATED, BACKWARD),
    # double negatives are hedges, not absences
    ("cannot exclude", POSSIBLE, FORWARD),
    ("can not exclude", POSSIBLE, FORWARD),
    ("cannot rule out", POSSIBLE, FORWARD),
    ("can't exclude", POSSIBLE, FORWARD),
    ("difficult to exclude", POSSIBLE, FORWARD),
    ("cannot be excluded", POSSIBLE, BACKWARD),
    ("can not be excluded", POSSIBLE, BACKWARD),
    ("cannot be ruled out", POSSIBLE, BACKWARD),
    ("not excluded", POSSIBLE, BACKWARD),
    ("not ruled out", POSSIBLE, BACKWARD),
    ("not entirely excluded", POSSIBLE, BACKWARD),
    # uncertainty
    ("possible", POSSIBLE, FORWARD),
    ("possibly", POSSIBLE, FORWARD),
    ("probable", POSSIBLE, FORWARD),
    ("probably", POSSIBLE, FORWARD),
    ("likely", POSSIBLE, FORWARD),
    ("questionable", POSSIBLE, FORWARD),
    ("question of", POSSIBLE, FORWARD),
    ("suspected", POSSIBLE, BOTH),
    ("suspicious for", POSSIBLE, FORWARD),
    ("suspicion of", POSSIBLE, FORWARD),
    ("concerning for", POSSIBLE, FORWARD),
    ("worrisome for", POSSIBLE, FORWARD),
    ("suggestive of", POSSIBLE, FORWARD),
    ("suggests", POSSIBLE, FORWARD),
    ("suggesting", POSSIBLE, FORWARD),
    ("may represent", POSSIBLE, FORWARD),
    ("may reflect", POSSIBLE, FORWARD),
    ("could represent", POSSIBLE, FORWARD),
    ("could reflect", POSSIBLE, FORWARD),
    ("may be", POSSIBLE, BOTH),
    ("could be", POSSIBLE, BOTH),
    ("might be", POSSIBLE, BOTH),
    ("may", POSSIBLE, FORWARD),
    ("versus", POSSIBLE, BOTH),
    ("vs", POSSIBLE, BOTH),
    ("equivocal", POSSIBLE, BOTH),
    ("indeterminate", POSSIBLE, BOTH),
    ("differential diagnosis", POSSIBLE, FORWARD),
    ("is possible", POSSIBLE, BACKWARD),
    ("is questionable", POSSIBLE, BACKWARD),
    ("is likely", POSSIBLE, BACKWARD),
    ("is suspected", POSSIBLE, BACKWARD),
    ("may be present", POSSIBLE, BACKWARD),
    ("not well seen", POSSIBLE, BACKWARD),
    # hedges toward absence
    ("unlikely", UNLIKELY, BACKWARD),
    ("is unlikely", UNLIKELY, BACKWARD),
    ("less likely", UNLIKELY, BOTH),
    ("doubtful", UNLIKELY, BOTH),
    ("unlikely to be", UNLIKELY, FORWARD),
    # hypotheses and requests
    ("rule out", HYPOTHETICAL, FORWARD),
    ("r/o", HYPOTHETICAL, FORWARD),
    ("evaluate for", HYPOTHETICAL, FORWARD),
    ("assess for", HYPOTHETICAL, FORWARD),
    ("to exclude", HYPOTHETICAL, FORWARD),
    ("if", HYPOTHETICAL, FORWARD),
    ("in case of", HYPOTHETICAL, FORWARD),
    # pseudo-cues: a negation word that negates a change, not a finding
    ("no change", PSEUDO, FORWARD),
    ("no interval change", PSEUDO, FORWARD),
    ("no significant change", PSEUDO, FORWARD),
    ("not significantly changed", PSEUDO, BACKWARD),
    ("no increase", PSEUDO, FORWARD),
    ("no decrease", PSEUDO, FORWARD),
    ("not only", PSEUDO, FORWARD),
    ("not changed", PSEUDO, BACKWARD),
)

# Words that start a new clause: a cue's scope ends before them.
CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "while", "whereas", "except"})
# A comma or "and" opens a new clause when what follows has its own verb.
CLAUSE_VERBS = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "appears",
        "appear",
        "remains",
        "remain",
        "demonstrates",
        "shows",
        "there",
    }
)
LIST_WORDS = frozenset({"or", "nor"})
NEGATION_WORDS = frozenset({"no", "not", "without", "nor"})

# Statements of normality, as regular expressions over the sentence, and the findings each
# one says are absent. `_QUIET` spans words up to the predicate without crossing a
# clause or a word that would change the statement.
_QUIET = r"(?:(?!\b(?:enlarg\w*|widen\w*|not|but|except|however)\b)[^.;,]){0,60}?"
_NORMAL = r"(?:normal|within normal limits|unremarkable|upper limits? of normal|top normal)"
NORMAL_STATEMENTS: tuple[tuple[str, tuple[Finding, ...]], ...] = (
    (
        rf"\bcardio ?mediastinal\b{_QUIET}\b{_NORMAL}\b",
        (F.cardiomegaly, F.enlarged_cardiomediastinum),
    ),
    (rf"\b(?:heart|cardiac)\b{_QUIET}\b{_NORMAL}\b", (F.cardiomegaly,)),
    (r"\bnormal (?:heart|cardiac)(?: size| silhouette| contours?)?\b", (F.cardiomegaly,)),
    (
        r"\bnormal (?:cardio ?mediastinal|heart and mediastinal) (?:silhouette|contours?|size)\b",
        (F.cardiomegaly, F.enlarged_cardiomediastinum),
    ),
    (rf"\bmediastin\w*\b{_QUIET}\b{_NORMAL}\b", (F.enlarged_cardiomediastinum,)),
    (
        r"\bnormal (?:\w+ )?mediastinal (?:contours?|silhouette|width)\b",
        (F.enlarged_cardiomediastinum,),
    ),
    (
        rf"\blungs?\b{_QUIET}\bclear\b|\bclear lungs?\b|\blungs? (?:are|is) not clear\b",
        (F.lung_opacity, F.consolidation, F.pneumonia, F.edema, F.atelectasis, F.lung_lesion),
    ),
    (
        rf"\bcostophrenic (?:angles?|recess\w*|sulc\w*)\b{_QUIET}"
        r"\b(?:sharp|clear|normal|preserved)\b",
        (F.pleural_effusion,),
    ),
    (rf"\bpleural spaces?\b{_QUIET}\b(?:clear|normal)\b", (F.pleural_effusion, F.pneumothorax)),
    (
        rf"\bpulmonary (?:vascularity|vasculature|vessels|vascular markings)\b{_QUIET}\b{_NORMAL}\b"
        rf"|\bnormal pulmonary (?:vascularity|vasculature)\b",
        (F.edema,),
    ),
    (
        rf"\b(?:osseous|bony|skeletal) (?:structures|thorax)\b{_QUIET}"
        rf"\b(?:intact|{_NORMAL}|without acute (?:abnormality|findings?))\b",
        (F.fracture,),
    ),
)

# Findings named through an organ and a predicate ("the heart is enlarged"); a "not" inside
# the phrase negates it.
PREDICATE_MENTIONS: tuple[tuple[str, Finding], ...] = (
    (
        r"\b(?:heart|cardiac silhouette|cardiac contour|heart silhouette)(?: size)?"
        r"(?: is| appears| remains)?(?: not)?(?: \w+ly| borderline)? (?:enlarged|large|increased)\b"
        r"|\bborderline (?:heart size|enlarged heart|cardiac enlargement)\b",
        F.cardiomegaly,
    ),
    (
        r"\b(?:mediastinum|mediastinal contour|cardiomediastinal silhouette) (?:is|appears)"
        r"(?: not)?(?: \w+ly)? (?:widened|enlarged)\b",
        F.enlarged_cardiomediastinum,
    ),
    (r"\bcostophrenic angles? (?:is|are) (?:not )?blunted\b", F.pleural_effusion),
)

# A normal chest: no_finding present. A generic abnormality word ("acute cardiopulmonary
# process") names no finding; negated, it says the study is normal.
NORMAL_STUDY = (
    r"\b(?:normal|unremarkable|negative) (?:chest|study|examination|exam|radiograph)"
    r"(?: radiographs?| x-?rays?| films?)?\b"
)
_ABNORMAL_WORDS = r"(?:abnormality|abnormalities|process|processes|disease|findings?)"
GENERIC_ABNORMALITY: tuple[tuple[str, Finding | None], ...] = (
    (
        rf"\b(?:acute )?(?:bony|osseous|skeletal) {_ABNORMAL_WORDS}\b",
        F.fracture,
    ),
    (
        r"\b(?:(?:acute|active|significant|radiographic|cardiopulmonary|cardiothoracic|"
        r"pulmonary|intrathoracic|thoracic|cardiac|pleural|chest|focal)(?:,? or |, | ))"
        rf"{{1,5}}{_ABNORMAL_WORDS}\b",
        None,  # None: the whole study (no_finding)
    ),
)
