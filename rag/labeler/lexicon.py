"""Mention patterns per finding and the context triggers that modify them.

Why hand-written rules: the 14 CheXpert observations have a short, well-known surface
vocabulary in chest X-ray reports (the CheXpert labeler itself is a rule system), and
radiology conventions differ from general clinical NLP defaults (e.g. "cannot exclude X"
is uncertain, not negated). Every rule here is exercised by tests/unit/test_labeler.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.domain.ontology import Finding, State

F = Finding

# The findings that a global "acute" normal statement denies.
ACUTE = (
    F.lung_opacity,
    F.consolidation,
    F.pneumonia,
    F.edema,
    F.pleural_effusion,
    F.pneumothorax,
)
LUNG_CLEAR = (F.lung_opacity, F.consolidation, F.pneumonia, F.edema, F.atelectasis)
ALL_CARDIOPULMONARY = tuple(f for f in Finding if f not in (F.no_finding, F.support_devices))


@dataclass(frozen=True)
class Rule:
    """A mention pattern; `state` is what the phrase asserts before context applies."""

    findings: tuple[Finding, ...]
    pattern: re.Pattern[str]
    state: State = State.present
    # Phrases that already carry their polarity ("heart size is normal") ignore
    # surrounding negation triggers.
    fixed: bool = False


def _r(
    findings: Finding | tuple[Finding, ...],
    pattern: str,
    state: State = State.present,
    fixed: bool = False,
) -> Rule:
    fs = findings if isinstance(findings, tuple) else (findings,)
    return Rule(fs, re.compile(pattern, re.IGNORECASE), state, fixed)


_HEART = r"(?:heart(?: size)?|cardiac (?:silhouette|size|contours?|shadow))"
_CARDIOMED = r"(?:cardiomediastinal (?:silhouettes?|contours?|shadow|size)|cardiac and mediastinal (?:silhouettes?|contours?)|heart and mediastinum)"
_MEDIAST = r"(?:mediastin(?:um|al (?:silhouettes?|contours?|width)))"
_NORMAL = (
    r"(?:(?:is|are|appears?|remains?|seems?)\s+)?(?:otherwise\s+)?(?:grossly\s+|overall\s+)?"
    r"(?:normal|within normal limits|unremarkable|not enlarged|normal in size|"
    r"of normal size|normal size|normal in contour|not widened)"
)
_BORDER = (
    r"(?:(?:is|are|appears?|remains?|seems?)\s+)?(?:at\s+(?:the\s+)?)?"
    r"(?:top normal|top-normal|upper (?:limits? )?(?:of )?normal|borderline(?: enlarged)?)"
)
_ENLARGED = (
    r"(?:(?:is|are|appears?|remains?|seems?)\s+)?(?:(?:mildly|moderately|markedly|severely|"
    r"slightly|minimally|massively|borderline|possibly|probably)\s+)?"
    r"(?:enlarged|increased|prominent|widened|large)"
)

# Order matters only for masking: a matched span is blanked so that a later, more
# generic rule does not count it again ("collapsed lung" before "collapse").
RULES: tuple[Rule, ...] = (
    # Bone statements first, so "bony structures ... no acute abnormality" is not global.
    _r(
        F.fracture,
        r"\b(?:no acute (?:osseous|bony|skeletal) (?:abnormalit(?:y|ies)|findings?|injury|process)"
        r"|(?:osseous|bony|skeletal) structures (?:are |appear )?(?:intact|normal|unremarkable)"
        r"|(?:bones|osseous structures) (?:are )?intact"
        r"|(?:osseous|bony|skeletal|bones?)\b[\w\s,]{0,40}?\bno acute (?:abnormalit(?:y|ies)|findings?))\b",
        State.absent,
        fixed=True,
    ),
    # Global statements that deny several findings at once.
    _r(
        (*ALL_CARDIOPULMONARY, F.no_finding),
        r"\b(?:normal (?:chest|study|radiograph|examination|exam)(?: (?:x-?ray|radiograph|film))?"
        r"|no (?:radiographic |radiologic )?(?:evidence of )?(?:any )?(?:abnormalit(?:y|ies)|abnormal findings))\b",
        State.absent,
        fixed=True,
    ),
    _r(
        ACUTE,
        r"\bno (?:evidence of )?(?:active|acute)(?: or active| or chronic)? "
        r"(?:cardiopulmonary|cardiothoracic|intrathoracic|pulmonary|chest|lung|thoracic|cardiac or pulmonary)?"
        r"\s*(?:disease|abnormalit(?:y|ies)|process(?:es)?|findings?|pathology|pulmonary disease|"
        r"cardiopulmonary (?:disease|abnormality|process))\b",
        State.absent,
        fixed=True,
    ),
    _r(
        LUNG_CLEAR,
        r"\b(?:(?:both |the )?lungs? (?:fields? )?(?:are|is|appear|remain)?\s*(?:otherwise |now |grossly |essentially )?(?:clear|well expanded and clear|normal)"
        r"|clear lungs?|lungs?,? clear|(?:the )?lung fields are clear)\b(?! of)",
        State.absent,
        fixed=True,
    ),
    _r(
        (F.pleural_effusion, F.pneumothorax, F.pleural_other),
        r"\b(?:no pleural (?:abnormalit(?:y|ies)|disease)|pleural spaces? (?:are |is )?(?:clear|normal))\b",
        State.absent,
        fixed=True,
    ),
    _r(
        F.edema,
        r"\b(?:pulmonary )?vascular(?:ity)? (?:is |are |appears )?(?:normal|within normal limits)\b",
        State.absent,
        fixed=True,
    ),
    _r(
        F.pleural_effusion,
        r"\bcostophrenic (?:angles?|sulci|recess(?:es)?) (?:are |is )?(?:sharp|clear|preserved|normal)\b",
        State.absent,
        fixed=True,
    ),
    # Organ-level normal / enlarged statements.
    _r(
        (F.cardiomegaly, F.enlarged_cardiomediastinum),
        rf"\b{_CARDIOMED}\s+{_BORDER}\b",
        State.uncertain,
        fixed=True,
    ),
    _r(
        (F.cardiomegaly, F.enlarged_cardiomediastinum),
        rf"\b{_CARDIOMED}\s+{_NORMAL}\b",
        State.absent,
        fixed=True,
    ),
    _r(
        (F.cardiomegaly, F.enlarged_cardiomediastinum),
        rf"\bnormal (?:size )?{_CARDIOMED}\b|\bnormal (?:heart|cardiac) size and mediastinal (?:contours?|silhouettes?)\b",
        State.absent,
        fixed=True,
    ),
    _r(F.enlarged_cardiomediastinum, rf"\b{_CARDIOMED}\s+{_ENLARGED}\b"),
    _r(
        F.enlarged_cardiomediastinum,
        r"\b(?:enlarged|widened|prominent) cardiomediastinal (?:silhouette|contour)s?\b",
    ),
    _r(F.cardiomegaly, rf"\b{_HEART}\s+{_BORDER}(?: in size)?\b", State.uncertain, fixed=True),
    _r(F.cardiomegaly, rf"\b{_HEART}\s+{_NORMAL}\b", State.absent, fixed=True),
    _r(
        F.cardiomegaly,
        r"\bnormal(?:-sized| sized)? (?:heart(?: size)?|cardiac (?:size|silhouette|contours?))\b",
        State.absent,
        fixed=True,
    ),
    _r(
        F.cardiomegaly,
        rf"\b{_HEART}\s+(?:is|are|appears?|remains?)\s+not\s+(?:enlarged|increased)\b",
        State.absent,
        fixed=True,
    ),
    _r(F.cardiomegaly, rf"\b{_HEART}\s+{_ENLARGED}\b"),
    _r(
        F.cardiomegaly,
        r"\b(?:cardiomegaly|cardiac enlargement|enlarged (?:heart|cardiac silhouette)|enlargement of the (?:heart|cardiac silhouette))\b",
    ),
    _r(F.enlarged_cardiomediastinum, rf"\b{_MEDIAST}\s+{_BORDER}\b", State.uncertain, fixed=True),
    _r(F.enlarged_cardiomediastinum, rf"\b{_MEDIAST}\s+{_NORMAL}\b", State.absent, fixed=True),
    _r(F.enlarged_cardiomediastinum, rf"\b{_MEDIAST}\s+{_ENLARGED}\b"),
    _r(
        F.enlarged_cardiomediastinum,
        r"\b(?:widened mediastinum|mediastinal (?:widening|enlargement|mass)|enlarged cardiomediastinum|"
        r"(?:widening|enlargement) of the mediastinum|"
        r"enlarged mediastinum)\b",
    ),
    # Lungs and pleura.
    # Synonyms and abbreviations beyond CheXpert's phrases come from radiology-semantic-dict's
    # synonym table (ptx, ggo, oedema) and from IU X-ray train reports (volume loss: 12 uses,
    # vascular engorgement: 17); tests/unit/test_verify_v2.py exercises each.
    _r(F.pneumothorax, r"\b(?:pneumothora(?:x|ces|xes)|collapsed lung|ptx)\b"),
    _r(
        F.pleural_other,
        # "pleural abnormality" is the ontology's own name for the finding (FINDING_NAMES).
        r"\bpleural (?:thickening|plaques?|scarring|calcifications?|fibrosis|abnormalit(?:y|ies))\b|"
        r"\bfibrothorax\b|"
        r"\bapical (?:pleural )?(?:cap|capping|thickening)\b|\bpleural-parenchymal scarring\b",
    ),
    _r(
        F.pleural_effusion,
        r"\b(?:pleural )?effusions?\b|\bpleural fluid\b|\bhydrothorax\b|"
        r"\bblunt(?:ing|ed)?(?: of)?(?: the)?(?: (?:right|left|bilateral|posterior))? costophrenic (?:angles?|sulc(?:us|i)|recess(?:es)?)\b|"
        r"\bcostophrenic (?:angles?|sulc(?:us|i)) (?:is |are )?blunt(?:ed|ing)\b",
    ),
    _r(
        F.edema,
        r"\b(?:(?:pulmonary |interstitial |alveolar )?(?:edema|oedema)|(?:pulmonary )?(?:vascular )?congestion|"
        r"(?:pulmonary )?vascular engorgement|"
        r"congestive (?:heart )?failure|chf|kerley b lines|cephalization)\b",
    ),
    _r(F.consolidation, r"\b(?:(?:air ?space|alveolar) )?consolidat(?:ion|ions|ed|ive)\b"),
    _r(F.pneumonia, r"\b(?:pneumonias?|bronchopneumonia|infectious process|infection|pneumonic)\b"),
    _r(F.atelectasis, r"\b(?:atelecta(?:sis|ses|tic)|collapse[sd]?|volume loss)\b"),
    _r(
        F.lung_lesion,
        r"\b(?:nodules?|nodular (?:opacit(?:y|ies)|densit(?:y|ies))|masse?s?|masslike|mass-like|"
        r"lung lesions?|pulmonary lesions?|cavitary lesions?|neoplasms?|tumou?rs?|carcinoma|"
        r"malignancy|metasta(?:sis|ses|tic disease))\b",
    ),
    _r(
        F.lung_opacity,
        r"\b(?:opacit(?:y|ies)|opacification|(?:air[- ]?space )?infiltrat(?:e|es|ion|ive)|air[- ]?space (?:disease|opacit(?:y|ies)|process)|ggos?|"
        r"airspace density|hazy|haziness|ground[- ]glass|interstitial (?:markings|opacit(?:y|ies)|prominence|process|disease))\b",
    ),
    _r(F.fracture, r"\b(?:fractures?|fractured|fx)\b"),
    _r(
        F.support_devices,
        r"\b(?:support devices?|devices?|tubes?|catheters?|pacemakers?|pacer|defibrillators?|aicd|icd|ett|ngt|ogt|cvc|"
        r"picc|mediport|port-a-cath|(?:chest |power )?port|stents?|hardware|surgical clips|clips|"
        r"sternotomy wires|wires|leads?|drains?|cannula|coils?|prosthetic valve|valve replacement|"
        r"(?:central venous|central|venous|arterial|jugular|subclavian|swan[- ]ganz) (?:line|catheter)s?|"
        r"lines and tubes|tubes and lines)\b",
    ),
)

# Masked before rules run: phrases that contain a trigger word but mean something else.
PSEUDO = re.compile(
    r"\b(?:no (?:significant |interval |substantial )?(?:change|increase|decrease|progression)|"
    r"not (?:significantly )?changed|without (?:interval )?change|no further|not only|"
    r"pericardial effusions?|gram[- ]negative|lead to|leads to|no longer|"
    r"soft[- ]tissue (?:edema|swelling))\b",
    re.IGNORECASE,
)

# "cannot exclude" contains a negation word but is uncertain in radiology; these are
# found first and replaced by a neutral uncertainty token.
NEGATED_UNCERTAINTY = re.compile(
    r"\b(?:can ?not|can't|could not|cannot)(?: be)? (?:exclude[d]?|ruled? out|excluded)|"
    r"not (?:be )?(?:excluded|ruled out)|difficult to (?:exclude|rule out)|"
    r"\bno definite(?:ly)?(?: evidence (?:of|for))?\b|\bnot definitely\b|\band/or\b",
    re.IGNORECASE,
)

PRE_NEGATION = re.compile(
    r"\b(?:no|without|free of|clear of|negative for|absence of|absent|not|nor|resolution of|"
    r"resolved|rather than|rules? out|ruled out|no evidence of|no signs? of|neither)\b",
    re.IGNORECASE,
)
# A post-trigger may follow a coordinated list: "effusion and pneumothorax are absent".
_COORD = r"(?:\s*(?:,|and|or|nor)\s+(?:[a-z]+\s+){0,3}?[a-z]*)?"  # masked spans are blank
POST_NEGATION = re.compile(
    r"^(?:\W*(?:(?:is|are|was|were|has|have)\s+)?|" + _COORD + r"\s+(?:are|were|have)\s+)"
    r"(?:not (?:seen|identified|visualized|present|appreciated|demonstrated|evident|noted)|"
    r"absent|resolved|cleared|gone)\b",
    re.IGNORECASE,
)
PRE_UNCERTAINTY = re.compile(
    r"\b(?:UNCUE|possible|possibly|probable|probably|may|might|could|questionable|questionably|"
    r"question of|suspicious|suspected|suspect|concerning|concern for|suggest(?:s|ive|ing|ed)?|likely|"
    r"differential|consider(?:ed)?|equivocal|indeterminate|borderline|uncertain|vs\.?|versus|"
    r"cannot be distinguished|may represent|could represent|worrisome|presumed|apparent)\b",
    re.IGNORECASE,
)
POST_UNCERTAINTY = re.compile(
    r"^\W*(?:UNCUE|(?:is|are) (?:possible|suspected|questioned|likely|not excluded)|"
    r"versus|vs\.?|or\s+\w+\s*\?|\?)",
    re.IGNORECASE,
)
# "Pneumothorax: absent", "**Effusion** - possible": a finding as a key with its state as
# the value (LLM drafts and templated reports write this). Read before the colon ends the
# scope. The value words must be the whole value, so "Heart: enlarged" and "effusion - no
# change" are left to the other rules.
KEY_VALUE = re.compile(
    r"^\W{0,4}?\s*[:\u2013-]\s*\W{0,4}?\s*(?:"
    r"(?P<absent>absent|none|no|negative|not (?:seen|present|identified))|"
    r"(?P<uncertain>possible|probable|uncertain|indeterminate|equivocal|suspected|"
    r"cannot be excluded|not excluded)|"
    r"(?P<present>present|yes|positive))\b(?!\s+[a-z])",  # whole value: not "no change"
    re.IGNORECASE,
)
# Words that end a trigger's scope: a new clause begins.
TERMINATORS = re.compile(
    r"\b(?:but|however|although|though|except|which|whereas|while|yet|aside from|apart from|"
    r"there is|there are|with|and the|otherwise)\b|[;:]",
    re.IGNORECASE,
)
SCOPE_WORDS = 8
POST_SCOPE_CHARS = 40
