"""DenseNet-121 in plain torch, its state-dict keys named as torchvision's `densenet121`.

torchvision does not load with this project's CPU torch, so the architecture lives here;
the names match torchvision's (and torchxrayvision's), so their checkpoints load as-is.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F


class _DenseLayer(nn.Sequential):
    def __init__(self, n_in: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.add_module("norm1", nn.BatchNorm2d(n_in))
        self.add_module("relu1", nn.ReLU(inplace=True))
        self.add_module("conv1", nn.Conv2d(n_in, bn_size * growth, 1, bias=False))
        self.add_module("norm2", nn.BatchNorm2d(bn_size * growth))
        self.add_module("relu2", nn.ReLU(inplace=True))
        self.add_module("conv2", nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.cat([x, super().forward(x)], 1)


class _Transition(nn.Sequential):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(n_in))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(n_in, n_out, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, stride=2))


class DenseNet121(nn.Module):
    """DenseNet-121 (growth 32, blocks 6/12/24/16) with a linear head of `num_classes`."""

    def __init__(self, num_classes: int, in_channels: int = 3) -> None:
        super().__init__()
        growth, bn_size, n = 32, 4, 64
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv0", nn.Conv2d(in_channels, n, 7, stride=2, padding=3, bias=False)),
                    ("norm0", nn.BatchNorm2d(n)),
                    ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
                ]
            )
        )
        for i, layers in enumerate((6, 12, 24, 16)):
            block = nn.Sequential(
                OrderedDict(
                    (f"denselayer{j + 1}", _DenseLayer(n + j * growth, growth, bn_size))
                    for j in range(layers)
                )
            )
            self.features.add_module(f"denseblock{i + 1}", block)
            n += layers * growth
            if i != 3:
                self.features.add_module(f"transition{i + 1}", _Transition(n, n // 2))
                n //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(n))
        self.classifier = nn.Linear(n, num_classes)
        self.num_features = n

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The (B, 1024) pooled features the classifier reads."""
        out = F.relu(self.features(x))
        return F.adaptive_avg_pool2d(out, (1, 1)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes)."""
        return self.classifier(self.pooled(x))


# Checkpoints from before torchvision 0.3 (CheXNet's among them) name "norm.1" for "norm1".
_OLD_NAMES = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def normalise_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the common layouts onto ours: `module.` (DataParallel), `densenet121.` (CheXNet's
    wrapper), `classifier.0.` (a Sequential(Linear, Sigmoid) head) and old "norm.1" names."""
    out = {}
    for key, value in state.items():
        k = key.removeprefix("module.").removeprefix("densenet121.")
        k = k.replace("classifier.0.", "classifier.")
        m = _OLD_NAMES.match(k)
        if m:
            k = m.group(1) + m.group(2)
        out[k] = value
    return out
