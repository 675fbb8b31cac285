"""SeqNet: frame encoder → temporal core → pooling over time → linear head.

One class serves classification (logits) and regression (values); the registered
builders below name the usual combinations.
"""

from pathlib import Path
from typing import Literal

from torch import Tensor, nn
from torchvision.models import WeightsEnum

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.encoders import EncoderName, build_encoder, encode_frames
from seqimaging.models.registry import register_model
from seqimaging.models.temporal import (
    ConvLSTMCore,
    LSTMCore,
    PoolingName,
    RegionsCore,
    StaticCore,
    TemporalPooling,
    select_frame,
)

CoreName = Literal["convlstm", "lstm", "regions", "static"]


def unpack_batch(x: Tensor | dict, lengths: Tensor | None, mask: Tensor | None) -> tuple:
    """``frames, lengths, mask`` from a batched sample dict or a frames tensor.

    Masked-out pixels (``mask`` False: nodata, clouds) are set to zero, NaN included.
    """
    if isinstance(x, dict):
        lengths = x.get("lengths", lengths)
        mask = x.get("mask", mask)
        x = x["frames"]
    if x.dim() != 5:
        raise ShapeError(f"frames must be [B, T, C, H, W], got shape {tuple(x.shape)}")
    if mask is not None:
        x = x.masked_fill(~mask.bool(), 0)  # not x * mask: NaN nodata would stay NaN
    return x, lengths, mask


class SeqNet(nn.Module):
    """A sequence of frames → ``out_features`` numbers (class logits or regression values).

    Args:
        in_channels: channels of a frame.
        out_features: classes, or regression targets.
        core: ``"convlstm"`` (ConvLSTM over feature maps), ``"lstm"`` (the classic recipe:
            frames pooled to vectors, then ``nn.LSTM``), ``"regions"`` (one frame cut
            into a ``grid × grid`` sequence of regions for ``nn.LSTM``) or ``"static"``
            (one frame only: the single-frame baseline).
        encoder: ``"small"``, ``"resnet18"`` or ``"resnet34"``
            (see :mod:`seqimaging.models.encoders`).
        stride: the encoder's output stride, 1, 2, 4 or 8.
        width: stem channels of the small encoder.
        weights: pretrained ResNet weights (a local file or a cached torchvision enum).
        hidden_channels: hidden size of the ConvLSTM or LSTM.
        num_layers: stacked ConvLSTM or LSTM layers.
        kernel_size: ConvLSTM kernel size.
        grid: regions per side for ``core="regions"``.
        frame: the frame ``"regions"`` and ``"static"`` look at; negative counts back
            from the last valid frame.
        pooling: over time for ``"convlstm"``/``"lstm"``: ``"last"`` valid step,
            ``"attention"`` or ``"mean"``; ``"regions"`` pools its region sequence.
        dropout: before the linear head.

    Example:
        >>> model = SeqNet(1, 5, core="convlstm", stride=4, hidden_channels=16)
        >>> model(torch.randn(2, 6, 1, 32, 32)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        in_channels: int,
        out_features: int,
        *,
        core: CoreName = "convlstm",
        encoder: EncoderName = "small",
        stride: int = 4,
        width: int = 32,
        weights: str | Path | WeightsEnum | None = None,
        hidden_channels: int = 64,
        num_layers: int = 1,
        kernel_size: int = 3,
        grid: int = 4,
        frame: int = 0,
        pooling: PoolingName = "last",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_features = in_channels, out_features
        self.encoder = build_encoder(
            encoder, in_channels, stride=stride, width=width, weights=weights
        )
        features = self.encoder.out_channels
        if core == "convlstm":
            self.core = ConvLSTMCore(features, hidden_channels, num_layers, kernel_size)
        elif core == "lstm":
            self.core = LSTMCore(features, hidden_channels, num_layers)
        elif core == "regions":
            self.core = RegionsCore(features, hidden_channels, grid, frame)
        elif core == "static":
            self.core = StaticCore(features, frame)
        else:
            raise SeqImagingError(
                f"core must be 'convlstm', 'lstm', 'regions' or 'static', got {core!r}"
            )
        self.pool = TemporalPooling(self.core.out_features, pooling)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(self.core.out_features, out_features)
        )

    def forward(
        self, x: Tensor | dict, lengths: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """``[B, T, C, H, W]`` frames, or a batched sample dict → ``[B, out_features]``.

        ``lengths`` ``[B]`` gives the true length of sequences padded at the end; ``mask``
        ``[B, T, 1, H, W]`` marks valid pixels (others are set to zero). Both are read
        from the dict when ``x`` is one.
        """
        frames, lengths, _ = unpack_batch(x, lengths, mask)
        if frames.shape[2] != self.in_channels:
            raise ShapeError(
                f"frames have {frames.shape[2]} channels, the model expects {self.in_channels}"
            )
        if self.core.frame is not None:
            frames, lengths = select_frame(frames, self.core.frame, lengths), None
        seq, seq_lengths = self.core(encode_frames(self.encoder, frames, lengths), lengths)
        return self.head(self.pool(seq, seq_lengths))


@register_model
def convlstm_classifier(in_channels: int, num_classes: int, **kwargs) -> SeqNet:
    """ConvLSTM over CNN feature maps → class logits; ``kwargs`` as :class:`SeqNet`."""
    return SeqNet(in_channels, num_classes, core="convlstm", **kwargs)


@register_model
def convlstm_regressor(in_channels: int, num_targets: int = 1, **kwargs) -> SeqNet:
    """ConvLSTM over CNN feature maps → regression values; ``kwargs`` as :class:`SeqNet`."""
    return SeqNet(in_channels, num_targets, core="convlstm", **kwargs)


@register_model
def cnn_lstm_classifier(
    in_channels: int,
    num_classes: int,
    *,
    encoder: EncoderName = "resnet18",
    stride: int = 8,
    **kwargs,
) -> SeqNet:
    """The classic recipe: ResNet features per frame, pooled, ``nn.LSTM``, last step → logits."""
    return SeqNet(in_channels, num_classes, core="lstm", encoder=encoder, stride=stride, **kwargs)


@register_model
def cnn_lstm_regressor(
    in_channels: int,
    num_targets: int = 1,
    *,
    encoder: EncoderName = "resnet18",
    stride: int = 8,
    **kwargs,
) -> SeqNet:
    """The classic CNN+LSTM recipe → regression values; ``kwargs`` as :class:`SeqNet`."""
    return SeqNet(in_channels, num_targets, core="lstm", encoder=encoder, stride=stride, **kwargs)


@register_model
def regions_classifier(in_channels: int, num_classes: int, **kwargs) -> SeqNet:
    """One frame as a raster-order sequence of region features → ``nn.LSTM`` → logits."""
    return SeqNet(in_channels, num_classes, core="regions", **kwargs)


@register_model
def static_classifier(in_channels: int, num_classes: int, **kwargs) -> SeqNet:
    """The single-frame baseline: one frame's CNN features → logits (``frame=`` picks it)."""
    return SeqNet(in_channels, num_classes, core="static", **kwargs)


@register_model
def static_regressor(in_channels: int, num_targets: int = 1, **kwargs) -> SeqNet:
    """The single-frame baseline for regression (``frame=`` picks the frame)."""
    return SeqNet(in_channels, num_targets, core="static", **kwargs)
