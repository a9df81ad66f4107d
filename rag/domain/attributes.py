"""Finding attributes: side, size or severity, location, count and devices, as closed vocabularies.

A label set says which findings are present; attributes say what a radiologist would
add ("small left pleural effusion", "right IJ central venous catheter, tip in the SVC").
Every value comes from a closed enum, so the API, the LLM's JSON schema and the verifier
share one vocabulary, and no attribute can be invented downstream.

Which findings take which attributes (ATTRIBUTE_SCOPE):

| finding                    | laterality | severity scale      | location | count | devices |
|----------------------------|------------|---------------------|----------|-------|---------|
| enlarged_cardiomediastinum |            | degree              |          |       |         |
| cardiomegaly               |            | degree              |          |       |         |
| lung_opacity               | yes        |                     | yes      | yes   |         |
| lung_lesion                | yes        | size (no trace)     | yes      | yes   |         |
| edema                      | yes        | degree              | yes      |       |         |
| consolidation              | yes        |                     | yes      | yes   |         |
| pneumonia                  | yes        |                     | yes      |       |         |
| atelectasis                | yes        | degree              | yes      |       |         |
| pneumothorax               | yes        | size                | yes      |       |         |
| pleural_effusion           | yes        | size                |          |       |         |
| pleural_other              | yes        |                     | yes      |       |         |
| fracture                   | yes        |                     |          | yes   |         |
| support_devices            |            |                     |          |       | yes     |

Severity scales: "size" (trace, small, moderate, large) for collections and masses whose
extent is what a radiologist grades; "degree" (mild, moderate, severe) for enlargement and
diffuse processes. no_finding takes no attributes. Attributes are only given for present
or uncertain findings (an absent finding has no side).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import model_validator

from rag.domain.base import _Frozen
from rag.domain.ontology import Finding, State


class Laterality(StrEnum):
    """Which side a finding is on."""

    left = "left"
    right = "right"
    bilateral = "bilateral"


class Severity(StrEnum):
    """Size (trace..large) or degree (mild..severe); each finding takes one scale."""

    trace = "trace"
    small = "small"
    moderate = "moderate"
    large = "large"
    mild = "mild"
    severe = "severe"


SIZE_SCALE: tuple[Severity, ...] = (
    Severity.trace,
    Severity.small,
    Severity.moderate,
    Severity.large,
)
DEGREE_SCALE: tuple[Severity, ...] = (Severity.mild, Severity.moderate, Severity.severe)


class Location(StrEnum):
    """Where in the chest; combined with laterality for a side ("left lower lobe")."""

    upper_zone = "upper_zone"
    middle_zone = "middle_zone"
    lower_zone = "lower_zone"
    upper_lobe = "upper_lobe"
    middle_lobe = "middle_lobe"  # right only
    lower_lobe = "lower_lobe"
    lingula = "lingula"  # left only
    apical = "apical"
    basal = "basal"
    perihilar = "perihilar"
    retrocardiac = "retrocardiac"


class Count(StrEnum):
    """One lesion or several."""

    single = "single"
    multiple = "multiple"


class DeviceType(StrEnum):
    """Support devices a chest radiograph report names (closed list)."""

    endotracheal_tube = "endotracheal_tube"
    tracheostomy_tube = "tracheostomy_tube"
    nasogastric_tube = "nasogastric_tube"
    central_venous_catheter = "central_venous_catheter"
    picc = "picc"
    chest_port = "chest_port"
    pacemaker = "pacemaker"
    icd = "icd"
    sternotomy_wires = "sternotomy_wires"
    chest_tube = "chest_tube"
    surgical_clips = "surgical_clips"


class DevicePosition(StrEnum):
    """Where a device's tip lies, when the request knows it."""

    standard = "standard"
    superior_vena_cava = "superior_vena_cava"
    cavoatrial_junction = "cavoatrial_junction"
    right_atrium = "right_atrium"
    stomach = "stomach"
    malpositioned = "malpositioned"


# Positions that make sense per device (a pacemaker has leads, not a tip in the stomach).
_VASCULAR = (
    DevicePosition.standard,
    DevicePosition.superior_vena_cava,
    DevicePosition.cavoatrial_junction,
    DevicePosition.right_atrium,
    DevicePosition.malpositioned,
)
DEVICE_POSITIONS: dict[DeviceType, tuple[DevicePosition, ...]] = {
    DeviceType.endotracheal_tube: (DevicePosition.standard, DevicePosition.malpositioned),
    DeviceType.tracheostomy_tube: (DevicePosition.standard, DevicePosition.malpositioned),
    DeviceType.nasogastric_tube: (
        DevicePosition.standard,
        DevicePosition.stomach,
        DevicePosition.malpositioned,
    ),
    DeviceType.central_venous_catheter: _VASCULAR,
    DeviceType.picc: _VASCULAR,
    DeviceType.chest_port: _VASCULAR,
    DeviceType.pacemaker: (DevicePosition.standard, DevicePosition.malpositioned),
    DeviceType.icd: (DevicePosition.standard, DevicePosition.malpositioned),
    DeviceType.sternotomy_wires: (),
    DeviceType.chest_tube: (DevicePosition.standard, DevicePosition.malpositioned),
    DeviceType.surgical_clips: (),
}


class Device(_Frozen):
    """One support device, with its side and tip position when known."""

    type: DeviceType
    position: DevicePosition | None = None
    side: Laterality | None = None

    @model_validator(mode="after")
    def _position_fits_device(self) -> Device:
        if self.position is not None and self.position not in DEVICE_POSITIONS[self.type]:
            allowed = ", ".join(p.value for p in DEVICE_POSITIONS[self.type]) or "none"
            raise ValueError(
                f"position {self.position.value} does not apply to {self.type.value} "
                f"(allowed: {allowed})"
            )
        return self


class FindingAttributes(_Frozen):
    """Optional details of one finding; which fields apply depends on the finding."""

    laterality: Laterality | None = None
    severity: Severity | None = None
    location: Location | None = None
    count: Count | None = None
    devices: tuple[Device, ...] = ()

    @model_validator(mode="after")
    def _location_fits_side(self) -> FindingAttributes:
        if self.location is Location.middle_lobe and self.laterality not in (
            None,
            Laterality.right,
        ):
            raise ValueError("the middle lobe is on the right only")
        if self.location is Location.lingula and self.laterality not in (None, Laterality.left):
            raise ValueError("the lingula is on the left only")
        return self

    def is_empty(self) -> bool:
        """Whether no attribute is given."""
        return self == FindingAttributes()


@dataclass(frozen=True)
class AttributeScope:
    """The attributes one finding may carry."""

    laterality: bool = False
    severity: tuple[Severity, ...] = ()
    location: bool = False
    count: bool = False
    devices: bool = False


_LUNG = AttributeScope(laterality=True, location=True)
ATTRIBUTE_SCOPE: dict[Finding, AttributeScope] = {
    Finding.no_finding: AttributeScope(),
    Finding.enlarged_cardiomediastinum: AttributeScope(severity=DEGREE_SCALE),
    Finding.cardiomegaly: AttributeScope(severity=DEGREE_SCALE),
    Finding.lung_opacity: AttributeScope(laterality=True, location=True, count=True),
    Finding.lung_lesion: AttributeScope(
        laterality=True, severity=SIZE_SCALE[1:], location=True, count=True
    ),
    Finding.edema: AttributeScope(laterality=True, severity=DEGREE_SCALE, location=True),
    Finding.consolidation: AttributeScope(laterality=True, location=True, count=True),
    Finding.pneumonia: _LUNG,
    Finding.atelectasis: AttributeScope(laterality=True, severity=DEGREE_SCALE, location=True),
    Finding.pneumothorax: AttributeScope(laterality=True, severity=SIZE_SCALE, location=True),
    Finding.pleural_effusion: AttributeScope(laterality=True, severity=SIZE_SCALE),
    Finding.pleural_other: _LUNG,
    Finding.fracture: AttributeScope(laterality=True, count=True),
    Finding.support_devices: AttributeScope(devices=True),
}


def attribute_problems(
    finding: Finding, state: State, attrs: FindingAttributes
) -> list[tuple[str, str]]:
    """(field, message) for each attribute the finding in this state may not carry."""
    if attrs.is_empty():
        return []
    if state is State.absent:
        return [("attributes", f"an absent {finding.value} takes no attributes")]
    scope = ATTRIBUTE_SCOPE[finding]
    out = []
    for name in ("laterality", "location", "count"):
        if getattr(attrs, name) is not None and not getattr(scope, name):
            out.append((name, f"{name} does not apply to {finding.value}"))
    if attrs.severity is not None and attrs.severity not in scope.severity:
        allowed = ", ".join(s.value for s in scope.severity)
        msg = f"severity of {finding.value} must be one of: {allowed}"
        out.append(("severity", msg if allowed else f"severity does not apply to {finding.value}"))
    if attrs.devices and not scope.devices:
        out.append(("devices", f"devices apply to support_devices only, not {finding.value}"))
    return out


# The words each value licenses in a sentence (lower case, as rag.labeler.details spots
# them). Conservative on purpose: a synonym here lets the verifier pass that word.
_SIDE_WORDS: dict[Laterality, frozenset[str]] = {
    Laterality.left: frozenset({"left", "l"}),
    Laterality.right: frozenset({"right", "r"}),
    Laterality.bilateral: frozenset({"bilateral", "bilaterally", "both"}),
}
_SEVERITY_WORDS: dict[Severity, frozenset[str]] = {
    Severity.trace: frozenset({"trace", "tiny"}),
    Severity.small: frozenset({"small"}),
    Severity.moderate: frozenset({"moderate", "moderately"}),
    Severity.large: frozenset({"large"}),
    Severity.mild: frozenset({"mild", "mildly"}),
    Severity.severe: frozenset({"severe", "severely", "marked", "markedly"}),
}
_ZONE = frozenset({"zone", "zones", "lung"})
_LOCATION_WORDS: dict[Location, frozenset[str]] = {
    Location.upper_zone: _ZONE | {"upper"},
    Location.middle_zone: _ZONE | {"middle", "mid", "midlung"},
    Location.lower_zone: _ZONE | {"lower"},
    Location.upper_lobe: frozenset({"upper", "lobe"}),
    Location.middle_lobe: frozenset({"middle", "lobe"}),
    Location.lower_lobe: frozenset({"lower", "lobe"}),
    Location.lingula: frozenset({"lingula", "lingular"}),
    Location.apical: frozenset({"apical", "apex", "apices"}),
    Location.basal: frozenset({"basal", "basilar", "base", "bases", "basally"}),
    Location.perihilar: frozenset({"perihilar"}),
    Location.retrocardiac: frozenset({"retrocardiac"}),
}
_COUNT_WORDS: dict[Count, frozenset[str]] = {
    Count.single: frozenset({"single"}),
    Count.multiple: frozenset({"multiple"}),
}
_DEVICE_WORDS: dict[DeviceType, frozenset[str]] = {
    DeviceType.endotracheal_tube: frozenset({"endotracheal", "tube", "ett"}),
    DeviceType.tracheostomy_tube: frozenset({"tracheostomy", "tube"}),
    DeviceType.nasogastric_tube: frozenset({"nasogastric", "enteric", "tube", "ng"}),
    DeviceType.central_venous_catheter: frozenset({"central", "venous", "catheter", "line"}),
    DeviceType.picc: frozenset({"picc", "catheter", "line"}),
    DeviceType.chest_port: frozenset({"port", "mediport", "catheter"}),
    DeviceType.pacemaker: frozenset({"pacemaker", "pacer", "lead", "leads"}),
    DeviceType.icd: frozenset({"defibrillator", "icd", "aicd", "lead", "leads"}),
    DeviceType.sternotomy_wires: frozenset({"sternotomy", "wire", "wires"}),
    DeviceType.chest_tube: frozenset({"chest", "tube", "tubes"}),
    DeviceType.surgical_clips: frozenset({"surgical", "clip", "clips"}),
}
_POSITION_WORDS: dict[DevicePosition, frozenset[str]] = {
    DevicePosition.standard: frozenset({"tip", "standard"}),
    DevicePosition.superior_vena_cava: frozenset({"tip", "svc", "superior"}),
    DevicePosition.cavoatrial_junction: frozenset({"tip", "cavoatrial", "junction"}),
    DevicePosition.right_atrium: frozenset({"tip", "right", "atrium"}),
    DevicePosition.stomach: frozenset({"tip", "stomach"}),
    DevicePosition.malpositioned: frozenset({"tip", "malpositioned"}),
}
_BASAL = {Location.basal, Location.lower_zone, Location.lower_lobe}
_APICAL = {Location.apical, Location.upper_zone, Location.upper_lobe}


def licensed_words(attrs: FindingAttributes) -> frozenset[str]:
    """The detail words one finding's attributes license (empty when none is given)."""
    words: set[str] = set()
    if attrs.laterality is not None:
        words |= _SIDE_WORDS[attrs.laterality]
        if attrs.laterality is Laterality.bilateral:
            # "bibasilar" carries side and place: licensed only where both are given or
            # the place is left open (a bilateral effusion is bibasilar by nature).
            if attrs.location is None or attrs.location in _BASAL:
                words |= {"bibasilar", "bibasal"}
            if attrs.location in _APICAL:
                words.add("biapical")
    if attrs.severity is not None:
        words |= _SEVERITY_WORDS[attrs.severity]
    if attrs.location is not None:
        words |= _LOCATION_WORDS[attrs.location]
    if attrs.count is not None:
        words |= _COUNT_WORDS[attrs.count]
    for d in attrs.devices:
        words |= _DEVICE_WORDS[d.type]
        if d.position is not None:
            words |= _POSITION_WORDS[d.position]
        if d.side is not None:
            words |= _SIDE_WORDS[d.side]
    return frozenset(words)
