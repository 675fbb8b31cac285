"""SeqNet: frame encoder → temporal core → pooling over time → head.

One class serves classification (logits) and regression (values); each part is a row of
its table (:data:`~seqimaging.models.encoders.ENCODERS`,
:data:`~seqimaging.models.temporal.CORES`, :data:`~seqimaging.models.heads.POOLINGS`,
:data:`~seqimaging.models.heads.HEADS`), and the registered builders below name the
usual combinations.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.blocks import unpack_batch
from seqimaging.models.encoders import EncoderName, Weights, build_encoder, encode_frames
from seqimaging.models.heads import HEADS, POOLINGS, PoolingName, Running, TemporalPooling
from seqimaging.models.registry import register_model
from seqimaging.models.streaming import StreamState, pushed
from seqimaging.models.temporal import CORES, ConvLSTMCore, CoreName, CoreOptions, select_frame


class FrameInput(NamedTuple):
    """What the encoder sees of frames ``[B, T, C, H, W]``: ``view(frames)``, with
    ``channels`` times the frame's channels."""

    view: Callable[[Tensor], Tensor]
    channels: int


def _differences(frames: Tensor) -> Tensor:
    return frames - frames[:, :1]


FRAME_INPUTS: Choices[FrameInput] = Choices(
    "frame input",
    {
        "frames": FrameInput(lambda frames: frames, 1),
        "differences": FrameInput(_differences, 1),
        "frames+differences": FrameInput(
            lambda frames: torch.cat([frames, _differences(frames)], dim=2), 2
        ),
    },
)
"""What the encoder sees, by name: the frames; their differences from the first frame
(for a cine aligned on ED, how far each phase has moved from end-diastole: motion made
visible); or both, stacked as channels."""

InputName = Literal["frames", "differences", "frames+differences"]


class SeqNet(nn.Module):
    """A sequence of frames → ``out_features`` numbers (class logits or regression values).

    Args:
        in_channels: channels of a frame.
        out_features: classes, or regression targets.
        core: a row of :data:`~seqimaging.models.temporal.CORES`: ``"convlstm"`` (ConvLSTM
            over feature maps), ``"lstm"`` (the classic recipe: frames pooled to vectors,
            then ``nn.LSTM``), ``"regions"`` (one frame cut into a ``grid × grid``
            sequence of regions for ``nn.LSTM``) or ``"static"`` (one frame only: the
            single-frame baseline).
        encoder: a row of :data:`~seqimaging.models.encoders.ENCODERS`: ``"small"``,
            ``"resnet18"`` or ``"resnet34"``.
        stride: the encoder's output stride, 1, 2, 4 or 8.
        width: stem channels of the small encoder.
        weights: pretrained ResNet weights (a local file or a cached torchvision enum).
        hidden_channels: hidden size of the ConvLSTM or LSTM.
        num_layers: stacked ConvLSTM or LSTM layers.
        kernel_size: ConvLSTM kernel size.
        grid: regions per side for ``core="regions"``.
        frame: the frame ``"regions"`` and ``"static"`` look at; negative counts back
            from the last valid frame.
        pooling: over time (a row of :data:`~seqimaging.models.heads.POOLINGS`) for
            ``"convlstm"``/``"lstm"``: ``"last"`` valid step, ``"attention"`` or
            ``"mean"``; ``"regions"`` pools its region sequence.
        head: a row of :data:`~seqimaging.models.heads.HEADS`: ``"linear"``.
        dropout: before the head.
        inputs: a row of :data:`FRAME_INPUTS`: ``"frames"``, ``"differences"`` (each frame
            minus the first) or ``"frames+differences"``.

    Example:
        >>> import torch
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
        weights: Weights = None,
        hidden_channels: int = 64,
        num_layers: int = 1,
        kernel_size: int = 3,
        grid: int = 4,
        frame: int = 0,
        pooling: PoolingName = "last",
        head: str = "linear",
        dropout: float = 0.0,
        inputs: InputName = "frames",
    ) -> None:
        super().__init__()
        # every name looked up first, so that an unknown one fails before any weights are made
        build_core, build_head, self.inputs = CORES[core], HEADS[head], FRAME_INPUTS[inputs]
        POOLINGS.check(pooling)
        self.in_channels, self.out_features = in_channels, out_features
        self.encoder = build_encoder(
            encoder,
            in_channels * self.inputs.channels,
            stride=stride,
            width=width,
            weights=weights,
        )
        options = CoreOptions(hidden_channels, num_layers, kernel_size, grid, frame)
        self.core = build_core(self.encoder.out_channels, options)
        self.pool = TemporalPooling(self.core.out_features, pooling)
        self.head = build_head(self.core.out_features, out_features, dropout)

    def shared_parts(self) -> dict[str, nn.Module]:
        """The encoder, and the ConvLSTM of a ``"convlstm"`` core: what
        :func:`~seqimaging.models.transfer.transfer_parts` copies from or into."""
        core = {"convlstm": self.core.convlstm} if isinstance(self.core, ConvLSTMCore) else {}
        return {"encoder": self.encoder} | core

    def forward(
        self, x: Tensor | dict, lengths: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """``[B, T, C, H, W]`` frames, or a batched sample dict → ``[B, out_features]``.

        ``lengths`` ``[B]`` gives the true length of sequences padded at the end; ``mask``
        ``[B, T, 1, H, W]`` marks valid pixels (others are set to zero). Both are read
        from the dict when ``x`` is one.
        """
        frames, lengths, _ = unpack_batch(x, lengths, mask)
        self._check_channels(frames.shape[2])
        frames = self.inputs.view(frames)
        if self.core.frame is not None:
            frames, lengths = select_frame(frames, self.core.frame, lengths), None
        seq, seq_lengths = self.core(encode_frames(self.encoder, frames, lengths), lengths)
        return self.head(self.pool(seq, seq_lengths))

    def step(
        self, frame: Tensor, state: StreamState | None = None, time: Tensor | float | None = None
    ) -> tuple[Tensor, StreamState]:
        """Push one frame ``[B, C, H, W]`` of ``B`` streams: the outputs over every frame
        pushed so far ``[B, out_features]`` (what :meth:`forward` gives on those frames;
        ``softmax`` for class probabilities) and the state to push the next frame with.

        Args:
            frame: the next frame of each stream.
            state: what the previous call returned; ``None`` starts the streams.
            time: the frame's time (a number, or ``[B]``), checked to increase.

        Raises:
            SeqImagingError: the core is not recurrent (``"regions"``, ``"static"``), or
                ``time`` is not after the previous frame's.
            ShapeError: a frame of other channels, or another size than the first.

        Example:
            >>> model = SeqNet(1, 3, core="lstm", stride=2, width=4, hidden_channels=5)
            >>> logits, state = model.step(torch.rand(2, 1, 16, 16), time=0.0)
            >>> logits, state = model.step(torch.rand(2, 1, 16, 16), state, time=0.5)
            >>> state.steps, logits.softmax(-1).shape
            (2, torch.Size([2, 3]))
        """
        if not hasattr(self.core, "step"):
            raise SeqImagingError(
                f"streaming needs a recurrent core ('convlstm' or 'lstm'); this model's is "
                f"{type(self.core).__name__}, which reads one frame"
            )
        state = pushed(state, frame, self.in_channels, time)
        outputs, core, pooled = self.push(frame, state.first, state.core, state.pooled)
        return outputs, replace(state, core=core, pooled=pooled)

    def push(
        self, frame: Tensor, first: Tensor, core: object, pooled: Running | None
    ) -> tuple[Tensor, object, Running]:
        """:meth:`step` on plain values, unchecked (what an exported step runs): the
        outputs, the core's state and the running pooling after ``frame``, the stream's
        ``first`` frame given for the ``frames+differences`` inputs."""
        view = self.inputs.view(torch.stack([first, frame], dim=1))[:, 1]
        vector, core = self.core.step(self.encoder(view), core)
        outputs, pooled = self.pool.step(pooled, vector)
        return self.head(outputs), core, pooled

    def _check_channels(self, channels: int) -> None:
        if channels != self.in_channels:
            raise ShapeError(
                f"frames have {channels} channels, the model expects {self.in_channels}"
            )


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
def cnn_lstm_video_classifier(
    in_channels: int = 3,
    num_classes: int = 101,
    *,
    encoder: EncoderName = "resnet18_imagenet",
    stride: int = 32,
    hidden_channels: int = 512,
    num_layers: int = 2,
    **kwargs,
) -> SeqNet:
    """Action recognition as the CNN → LSTM recipe has it: each RGB frame through an
    ImageNet ResNet (``"resnet18_imagenet"``/``"resnet50_imagenet"``, ``weights=`` a local
    file), its ``layer4`` map averaged to a vector, a 2-layer LSTM of 512, the last step →
    linear → logits. With ``encoder="identity"`` and ``in_channels`` the feature size, it
    reads the cached vectors of :class:`~seqimaging.video.FeatureDataset` instead of
    frames. ``kwargs`` as :class:`SeqNet` (e.g. ``dropout``, ``pooling``)."""
    return SeqNet(
        in_channels,
        num_classes,
        core="lstm",
        encoder=encoder,
        stride=stride,
        hidden_channels=hidden_channels,
        num_layers=num_layers,
        **kwargs,
    )


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
