"""Plain ``torch.nn.Module`` models: the ConvLSTM core, frame encoders, temporal cores,
heads, and a registry of ready-made combinations (:func:`build_model`, :func:`list_models`).
"""

from seqimaging.models.convlstm import ConvLSTM, ConvLSTMLayer
from seqimaging.models.encoders import ConvEncoder, ResNetEncoder, build_encoder, encode_frames
from seqimaging.models.forecaster import ConvLSTMForecaster, FrameDecoder, Persistence
from seqimaging.models.registry import build_model, list_models, register_model
from seqimaging.models.seqnet import SeqNet
from seqimaging.models.temporal import (
    ConvLSTMCore,
    LSTMCore,
    RegionsCore,
    StaticCore,
    TemporalPooling,
)

__all__ = [
    "ConvEncoder",
    "ConvLSTM",
    "ConvLSTMCore",
    "ConvLSTMForecaster",
    "ConvLSTMLayer",
    "FrameDecoder",
    "LSTMCore",
    "Persistence",
    "RegionsCore",
    "ResNetEncoder",
    "SeqNet",
    "StaticCore",
    "TemporalPooling",
    "build_encoder",
    "build_model",
    "encode_frames",
    "list_models",
    "register_model",
]
