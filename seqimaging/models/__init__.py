"""Plain ``torch.nn.Module`` models: the ConvLSTM, frame encoders and decoders, temporal
cores, pooling and heads, the baselines, and a registry of ready-made combinations
(:func:`build_model`, :func:`list_models`).

Every part chosen by name is a row of a :class:`~seqimaging.choices.Choices` table, so an
unknown name fails at construction with the valid names listed: :data:`MODELS` (the
registry), :data:`ENCODERS`, :data:`CORES`, :data:`POOLINGS`, :data:`HEADS` and
:data:`FORECAST_CODECS` (the forecaster's encoder–decoder pairs).
"""

from seqimaging.models.baselines import LinearExtrapolation, Persistence  # and registers them
from seqimaging.models.convlstm import ConvLSTM, ConvLSTMLayer
from seqimaging.models.decoders import FrameDecoder, PatchDecoder
from seqimaging.models.encoders import (
    ENCODERS,
    ConvEncoder,
    ImageNetResNet,
    PatchEncoder,
    Precomputed,
    ResNetEncoder,
    build_encoder,
    encode_frames,
    torchgeo_encoder,
)
from seqimaging.models.forecaster import FORECAST_CODECS, ConvLSTMForecaster
from seqimaging.models.heads import HEADS, POOLINGS, LinearHead, TemporalPooling
from seqimaging.models.motion import MOTIONS, MotionForecaster
from seqimaging.models.registry import MODELS, build_model, list_models, register_model
from seqimaging.models.seqnet import SeqNet
from seqimaging.models.streaming import StreamState
from seqimaging.models.temporal import (
    CORES,
    ConvLSTMCore,
    CoreOptions,
    LSTMCore,
    RegionsCore,
    StaticCore,
)

__all__ = [
    "CORES",
    "ENCODERS",
    "FORECAST_CODECS",
    "HEADS",
    "MODELS",
    "MOTIONS",
    "POOLINGS",
    "ConvEncoder",
    "ConvLSTM",
    "ConvLSTMCore",
    "ConvLSTMForecaster",
    "ConvLSTMLayer",
    "CoreOptions",
    "FrameDecoder",
    "ImageNetResNet",
    "LSTMCore",
    "LinearExtrapolation",
    "LinearHead",
    "MotionForecaster",
    "PatchDecoder",
    "PatchEncoder",
    "Persistence",
    "Precomputed",
    "RegionsCore",
    "ResNetEncoder",
    "SeqNet",
    "StaticCore",
    "StreamState",
    "TemporalPooling",
    "build_encoder",
    "build_model",
    "encode_frames",
    "list_models",
    "register_model",
    "torchgeo_encoder",
]
