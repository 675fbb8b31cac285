"""Plain ``torch.nn.Module`` models: the ConvLSTM core, encoders and heads."""

from seqimaging.models.convlstm import ConvLSTM, ConvLSTMLayer

__all__ = ["ConvLSTM", "ConvLSTMLayer"]
