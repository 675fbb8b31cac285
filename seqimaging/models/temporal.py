"""Temporal cores: per-frame feature maps → a sequence of vectors.

A core takes encoder features ``[B, T, C, h, w]`` with optional ``lengths`` and returns a
sequence ``[B, T', D]`` with its lengths (pooled over time by
:class:`~seqimaging.models.heads.TemporalPooling`). A core whose ``frame`` attribute is
an int looks at that one frame only (the caller selects it before encoding, so the other
frames cost nothing). The cores by name are the rows of :data:`CORES`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError
from seqimaging.models.convlstm import ConvLSTM

CoreName = Literal["convlstm", "lstm", "regions", "static"]


def _full_lengths(features: Tensor) -> Tensor:
    return torch.full((features.shape[0],), features.shape[1], device=features.device)


def _run_lstm(lstm: nn.LSTM, seq: Tensor, lengths: Tensor | None) -> Tensor:
    """``nn.LSTM`` over padded ``[B, T, D]``, packed so that padding never enters a state."""
    if lengths is None:
        return lstm(seq)[0]
    packed = pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=seq.shape[1])[0]


class ConvLSTMCore(nn.Module):
    """ConvLSTM over the feature maps; each step's hidden map is averaged over space."""

    frame = None

    def __init__(
        self, in_channels: int, hidden_channels: int = 64, num_layers: int = 1, kernel_size: int = 3
    ) -> None:
        super().__init__()
        self.convlstm = ConvLSTM(in_channels, [hidden_channels] * num_layers, kernel_size)
        self.out_features = hidden_channels

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        outputs, _ = self.convlstm(features, lengths=lengths)
        return outputs.mean(dim=(3, 4)), _full_lengths(features) if lengths is None else lengths

    def step(self, features: Tensor, state: list | None) -> tuple[Tensor, list]:
        """One frame's features ``[B, C, h, w]``: the step's vector ``[B, D]`` and state."""
        h, state = self.convlstm.step(features, state)
        return h.mean(dim=(2, 3)), state


class LSTMCore(nn.Module):
    """The classic CNN+LSTM recipe: each frame's features pooled to a vector, then ``nn.LSTM``."""

    frame = None

    def __init__(self, in_channels: int, hidden_channels: int = 64, num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden_channels, num_layers, batch_first=True)
        self.out_features = hidden_channels

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        seq = _run_lstm(self.lstm, features.mean(dim=(3, 4)), lengths)
        return seq, _full_lengths(features) if lengths is None else lengths

    def step(self, features: Tensor, state: tuple | None) -> tuple[Tensor, tuple]:
        """One frame's features ``[B, C, h, w]``: the step's vector ``[B, D]`` and state."""
        out, state = self.lstm(features.mean(dim=(2, 3))[:, None], state)
        return out[:, 0], state


class RegionsCore(nn.Module):
    """One image cut into a ``grid × grid`` of regions, read in raster order by ``nn.LSTM``.

    Each region's feature vector is the average of the encoder features over it; the
    sequence of ``grid²`` vectors is the LSTM's input.

    Args:
        frame: which frame of the sequence is the image; negative counts back from the
            last valid frame.
    """

    def __init__(
        self, in_channels: int, hidden_channels: int = 64, grid: int = 4, frame: int = 0
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden_channels, batch_first=True)
        self.grid, self.frame, self.out_features = grid, frame, hidden_channels

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        regions = F.adaptive_avg_pool2d(features[:, 0], self.grid)  # [B, D, g, g]
        seq = self.lstm(regions.flatten(2).transpose(1, 2))[0]
        return seq, _full_lengths(seq)


class StaticCore(nn.Module):
    """A single frame, its features averaged over space: the static, single-frame baseline.

    Args:
        frame: which frame; negative counts back from the last valid frame.
    """

    def __init__(self, in_channels: int, frame: int = 0) -> None:
        super().__init__()
        self.frame, self.out_features = frame, in_channels

    def forward(self, features: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        seq = features[:, :1].mean(dim=(3, 4))
        return seq, _full_lengths(seq)


def select_frame(frames: Tensor, frame: int, lengths: Tensor | None) -> Tensor:
    """Frame ``frame`` of each sequence, kept as a length-1 sequence ``[B, 1, ...]``.

    A negative ``frame`` counts back from each sequence's last valid frame.
    """
    batch, steps = frames.shape[:2]
    if lengths is None:
        lengths = torch.full((batch,), steps, device=frames.device)
    index = lengths.to(frames.device) + frame if frame < 0 else torch.full_like(lengths, frame)
    if bool(((index < 0) | (index >= lengths.to(frames.device))).any()):
        raise SeqImagingError(f"frame {frame} is outside a sequence of lengths {lengths.tolist()}")
    return frames[torch.arange(batch, device=frames.device), index][:, None]


@dataclass(frozen=True)
class CoreOptions:
    """Everything a core may be built with; each row of :data:`CORES` reads what it uses.

    Attributes:
        hidden_channels: hidden size of the ConvLSTM or LSTM.
        num_layers: stacked ConvLSTM or LSTM layers.
        kernel_size: ConvLSTM kernel size.
        grid: regions per side (``"regions"``).
        frame: the one frame ``"regions"`` and ``"static"`` look at.
    """

    hidden_channels: int
    num_layers: int
    kernel_size: int
    grid: int
    frame: int


CORES: Choices[Callable[[int, CoreOptions], nn.Module]] = Choices(
    "temporal core",
    {
        "convlstm": lambda c, o: ConvLSTMCore(c, o.hidden_channels, o.num_layers, o.kernel_size),
        "lstm": lambda c, o: LSTMCore(c, o.hidden_channels, o.num_layers),
        "regions": lambda c, o: RegionsCore(c, o.hidden_channels, o.grid, o.frame),
        "static": lambda c, o: StaticCore(c, o.frame),
    },
)
"""Core builders by name, each called as ``(in_channels, options: CoreOptions)``."""
