"""Tests of seqimaging.models.temporal and heads against direct per-sample computations.

References: loops over samples and valid steps written here, ``nn.LSTM`` and
``ConvLSTM`` run on each unpadded sequence alone, and region averages sliced by hand.
"""

import pytest
import torch
from torch import nn

from seqimaging.errors import SeqImagingError
from seqimaging.models.heads import LinearHead, TemporalPooling
from seqimaging.models.temporal import ConvLSTMCore, LSTMCore, RegionsCore, StaticCore, select_frame

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}
LENGTHS = torch.tensor([5, 2, 4])


def _padded(*shape, fill: float | None = float("nan")) -> torch.Tensor:
    """Random ``[3, 5, *shape]``, the padding of :data:`LENGTHS` set to ``fill``.

    ``fill=None`` leaves random values there.
    """
    x = torch.randn(len(LENGTHS), int(LENGTHS.max()), *shape, dtype=torch.float64)
    if fill is not None:
        for b, length in enumerate(LENGTHS.tolist()):
            x[b, length:] = fill
    return x


# --------------------------------------------------------------------------- pooling


@pytest.mark.parametrize("mode", ["last", "mean", "attention"])
def test_pooling_matches_per_sample(mode):
    pool = TemporalPooling(6, mode).double()
    seq = _padded(6, fill=None)  # the cores zero their padding; any finite value must do
    out = pool(seq, LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        valid = seq[b, :length]  # [L, D]
        if mode == "last":
            expected = valid[-1]
        elif mode == "mean":
            expected = valid.sum(0) / length
        else:
            scores = valid @ pool.score.weight[0] + pool.score.bias[0]  # [L]
            weights = torch.exp(scores - scores.max())
            expected = (weights / weights.sum()) @ valid
        torch.testing.assert_close(out[b], expected, **DOUBLE)


def test_attention_pooling_reaches_its_scores():
    pool = TemporalPooling(4, "attention").double()
    seq = torch.randn(2, 3, 4, dtype=torch.float64)
    pool(seq, torch.tensor([3, 2])).square().sum().backward()
    assert pool.score.weight.grad.abs().sum() > 0


def test_pooling_bad_mode_raises():
    with pytest.raises(SeqImagingError, match="'max'"):
        TemporalPooling(4, "max")


@pytest.mark.parametrize(
    ("mode", "parameters"),
    [("last", []), ("mean", []), ("attention", ["score.weight", "score.bias"])],
)
def test_only_attention_pooling_has_parameters(mode, parameters):
    assert [name for name, _ in TemporalPooling(4, mode).named_parameters()] == parameters


# --------------------------------------------------------------------------- heads


def test_linear_head_is_dropout_then_linear():
    head = LinearHead(4, 3, dropout=0.5).double()
    assert list(head.state_dict()) == ["1.weight", "1.bias"]
    assert isinstance(head[0], nn.Dropout) and head[0].p == 0.5
    x = torch.randn(2, 4, dtype=torch.float64)
    torch.testing.assert_close(head.eval()(x), x @ head[1].weight.T + head[1].bias, **DOUBLE)


# --------------------------------------------------------------------------- cores


def test_lstm_core_matches_nn_lstm_per_sequence():
    core = LSTMCore(4, hidden_channels=3, num_layers=2).double()
    reference = nn.LSTM(4, 3, 2, batch_first=True).double()
    reference.load_state_dict(core.lstm.state_dict())
    features = _padded(4, 3, 5)
    seq, lengths = core(features, LENGTHS)
    assert seq.shape == (3, 5, 3)
    assert torch.equal(lengths, LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        pooled = features[b, :length].mean(dim=(2, 3))  # [L, D]: each frame averaged
        expected = reference(pooled[None])[0][0]
        torch.testing.assert_close(seq[b, :length], expected, **DOUBLE)
        assert torch.equal(seq[b, length:], torch.zeros_like(seq[b, length:]))


def test_lstm_core_without_lengths_is_nn_lstm():
    core = LSTMCore(4, hidden_channels=3).double()
    features = torch.randn(2, 3, 4, 2, 2, dtype=torch.float64)
    seq, lengths = core(features)
    torch.testing.assert_close(seq, core.lstm(features.mean(dim=(3, 4)))[0], **DOUBLE)
    assert lengths.tolist() == [3, 3]


def test_convlstm_core_matches_per_sequence():
    core = ConvLSTMCore(2, hidden_channels=3, num_layers=2).double()
    features = _padded(2, 5, 3, fill=None)
    seq, lengths = core(features, LENGTHS)
    assert seq.shape == (3, 5, 3)
    assert torch.equal(lengths, LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        outputs, _ = core.convlstm(features[b : b + 1, :length])
        torch.testing.assert_close(seq[b, :length], outputs[0].mean(dim=(2, 3)), **DOUBLE)


@pytest.mark.parametrize(("grid", "size"), [(2, (6, 4)), (3, (9, 6))])
def test_regions_core_is_lstm_over_raster_regions(grid, size):
    core = RegionsCore(4, hidden_channels=3, grid=grid).double()
    reference = nn.LSTM(4, 3, batch_first=True).double()
    reference.load_state_dict(core.lstm.state_dict())
    features = torch.randn(2, 1, 4, *size, dtype=torch.float64)
    seq, lengths = core(features)
    ry, rx = size[0] // grid, size[1] // grid
    regions = [
        features[:, 0, :, i * ry : (i + 1) * ry, j * rx : (j + 1) * rx].mean(dim=(2, 3))
        for i in range(grid)  # rows first: raster order
        for j in range(grid)
    ]
    expected = reference(torch.stack(regions, dim=1))[0]
    assert seq.shape == (2, grid * grid, 3)
    torch.testing.assert_close(seq, expected, **DOUBLE)
    assert lengths.tolist() == [grid * grid] * 2


def test_static_core_averages_its_frame():
    core = StaticCore(4)
    features = torch.randn(2, 1, 4, 3, 5, dtype=torch.float64)
    seq, lengths = core(features)
    assert core.out_features == 4
    torch.testing.assert_close(seq, features.mean(dim=(3, 4)), **DOUBLE)
    assert lengths.tolist() == [1, 1]


# --------------------------------------------------------------------------- select_frame


@pytest.mark.parametrize("frame", [0, 1, -1, -2])
def test_select_frame_counts_within_each_length(frame):
    frames = _padded(1, 2, 2)
    out = select_frame(frames, frame, LENGTHS)
    assert out.shape == (3, 1, 1, 2, 2)
    for b, length in enumerate(LENGTHS.tolist()):
        index = frame if frame >= 0 else length + frame
        assert torch.equal(out[b, 0], frames[b, index])


def test_select_frame_without_lengths():
    frames = torch.randn(2, 4, 1, 2, 2)
    assert torch.equal(select_frame(frames, -1, None)[:, 0], frames[:, 3])
    assert torch.equal(select_frame(frames, 2, None)[:, 0], frames[:, 2])


@pytest.mark.parametrize("frame", [2, 5, -3, -6])
def test_select_frame_out_of_range_raises(frame):
    with pytest.raises(SeqImagingError, match=f"frame {frame}"):
        select_frame(_padded(1, 2, 2), frame, LENGTHS)  # lengths 5, 2, 4
