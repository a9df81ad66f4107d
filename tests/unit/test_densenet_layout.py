"""The plain-torch DenseNet-121 matches torchvision's layout; checkpoint keys normalise."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rag.adapters.image_encoders.base import EncoderLoadError
from rag.adapters.image_encoders.densenet import DenseNet121, normalise_keys
from rag.adapters.image_encoders.densenet_kinds import load_state, op_norm

pytestmark = pytest.mark.unit


def test_parameter_count_and_names_match_torchvision_densenet121() -> None:
    net = DenseNet121(1000)
    # torchvision.models.densenet121() has 7,978,856 parameters.
    assert sum(p.numel() for p in net.parameters()) == 7_978_856
    keys = set(net.state_dict())
    for k in (
        "features.conv0.weight",
        "features.denseblock1.denselayer1.norm1.running_var",
        "features.denseblock4.denselayer16.conv2.weight",
        "features.transition3.conv.weight",
        "features.norm5.bias",
        "classifier.weight",
    ):
        assert k in keys


def test_chexnet_and_old_torchvision_names_normalise() -> None:
    t = torch.zeros(1)
    raw = {
        "module.densenet121.features.denseblock1.denselayer1.norm.1.weight": t,
        "module.densenet121.features.denseblock1.denselayer1.conv.2.weight": t,
        "module.densenet121.classifier.0.bias": t,
        "features.transition1.norm.weight": t,
    }
    assert set(normalise_keys(raw)) == {
        "features.denseblock1.denselayer1.norm1.weight",
        "features.denseblock1.denselayer1.conv2.weight",
        "classifier.bias",
        "features.transition1.norm.weight",
    }


def test_a_pickled_whole_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(EncoderLoadError, match="state_dict"):
        load_state(path)


def test_op_norm_puts_each_operating_point_at_one_half() -> None:
    t = torch.tensor([0.1, 0.3, float("nan")])
    p = torch.tensor([[0.1, 0.3, 0.9], [0.05, 0.65, 0.2]])
    out = op_norm(p, t)
    assert out[0, 0] == pytest.approx(0.5) and out[0, 1] == pytest.approx(0.5)
    assert out[1, 0] == pytest.approx(0.25) and out[1, 1] == pytest.approx(0.75)
    assert out[0, 2] == 0 and out[1, 2] == 0  # untrained classes (NaN) stay 0, as in xrv
