"""Streaming frame by frame equals the batch forward, for both model families.

References: ``SeqNet.forward`` on the same frames, with padding and lengths (ConvLSTM and
nn.LSTM cores, every pooling, every frame input); ``ConvLSTMForecaster.forward`` on the
same context, with padding and lengths.
"""

import copy

import pytest
import torch

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.forecaster import ConvLSTMForecaster
from seqimaging.models.motion import MotionForecaster
from seqimaging.models.seqnet import SeqNet

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}
LENGTHS = torch.tensor([4, 2, 3])


def _model(**kwargs) -> SeqNet:
    torch.manual_seed(0)
    model = SeqNet(2, 3, stride=2, width=4, hidden_channels=5, **kwargs).double().eval()
    with torch.no_grad():  # a live attention score, so its weights matter
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("inputs", ["frames", "frames+differences"])
@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
@pytest.mark.parametrize("core", ["convlstm", "lstm"])
def test_pushing_frames_equals_the_batch_forward(core, pooling, inputs):
    model = _model(core=core, pooling=pooling, inputs=inputs, num_layers=2)
    frames = torch.randn(3, 4, 2, 12, 10, dtype=torch.float64)
    with torch.no_grad():
        batch = model(frames, lengths=LENGTHS)
        for b, length in enumerate(LENGTHS.tolist()):
            state = None
            for t in range(length):
                out, state = model.step(frames[b : b + 1, t], state, time=0.1 * t)
                alone = model(frames[b : b + 1, : t + 1])  # every prefix, not only the end
                torch.testing.assert_close(out, alone, **DOUBLE)
            torch.testing.assert_close(out[0], batch[b], **DOUBLE)
            assert state.steps == length


def test_a_kept_state_branches_and_nothing_changes_in_place():
    model = _model(core="convlstm", pooling="attention")
    frames = torch.randn(1, 3, 2, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        _, state = model.step(frames[:, 0])
        kept = copy.deepcopy(state)
        one, _ = model.step(frames[:, 1], state)
        other, _ = model.step(frames[:, 2], state)  # the same state, another frame
        torch.testing.assert_close(one, model(frames[:, :2]), **DOUBLE)
        torch.testing.assert_close(other, model(frames[:, [0, 2]]), **DOUBLE)
        for a, b in zip(
            torch.utils._pytree.tree_leaves(state.core),
            torch.utils._pytree.tree_leaves(kept.core),
            strict=True,
        ):
            assert torch.equal(a, b)


def test_bad_pushes_raise():
    model = _model(core="lstm")
    _, state = model.step(torch.randn(2, 2, 8, 8, dtype=torch.float64), time=1.0)
    with pytest.raises(ShapeError, match="frames have 3 channels, the model expects 2"):
        model.step(torch.randn(2, 3, 8, 8, dtype=torch.float64), state)
    with pytest.raises(ShapeError, match="the stream's first frame was"):
        model.step(torch.randn(2, 2, 9, 8, dtype=torch.float64), state)
    with pytest.raises(ShapeError, match=r"\[B, C, H, W\]"):
        model.step(torch.randn(2, 8, 8, dtype=torch.float64), state)
    with pytest.raises(SeqImagingError, match="not after the previous frame's"):
        model.step(torch.randn(2, 2, 8, 8, dtype=torch.float64), state, time=0.5)
    with pytest.raises(SeqImagingError, match="streaming needs a recurrent core"):
        _model(core="static").step(torch.randn(1, 2, 8, 8, dtype=torch.float64))


@pytest.mark.parametrize("encoder", ["conv", "patch"])
def test_pushing_a_context_then_forecasting_equals_the_forecaster(encoder):
    torch.manual_seed(1)
    model = ConvLSTMForecaster(2, horizon=3, stride=2, hidden_channels=[4, 5], encoder=encoder)
    model = model.double().eval()
    context = torch.randn(3, 4, 2, 8, 10, dtype=torch.float64)
    with torch.no_grad():
        batch = model(context, lengths=LENGTHS)
        for b, length in enumerate(LENGTHS.tolist()):
            state = None
            for t in range(length):
                state = model.step(context[b : b + 1, t], state, time=float(t))
            torch.testing.assert_close(model.forecast(state)[0], batch[b], **DOUBLE)
            again = model.forecast(state, horizon=5)  # the state is not used up
            torch.testing.assert_close(again[0, :3], batch[b], **DOUBLE)
    with pytest.raises(SeqImagingError, match="no frame pushed yet"):
        model.forecast(None)
    with pytest.raises(SeqImagingError, match="not after the previous frame's"):
        model.step(context[:1, 0], state, time=0.0)


@pytest.mark.parametrize("timed", [True, False])
def test_the_motion_forecaster_streams_its_last_context_frames(timed):
    torch.manual_seed(2)
    model = MotionForecaster(1, horizon=2, context=3, width=4).double().eval()
    with torch.no_grad():
        for p in model.correction.parameters():
            p.add_(0.05 * torch.randn_like(p))  # a live correction, not zero
    y, x = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    blob = lambda cx: torch.exp(-((x - cx) ** 2 + (y - 8) ** 2) / 8).double()  # noqa: E731
    frames = torch.stack([blob(4 + t) for t in range(5)])[None, :, None]  # [1, 5, 1, 16, 16]
    times = torch.tensor([[0.0, 5, 10, 15, 20]], dtype=torch.float64)
    future = torch.tensor([[25.0, 35]], dtype=torch.float64)
    with torch.no_grad():
        if timed:
            expected = model({"frames": frames, "times": times, "future_times": future})
        else:
            expected = model(frames)
        state = None
        for t in range(5):
            state = model.step(frames[:, t], state, time=times[0, t] if timed else None)
        got = model.forecast(state, future_times=future) if timed else model.forecast(state)
    assert state.core[0].shape[1] == 3  # only the last `context` frames are kept
    torch.testing.assert_close(got, expected, **DOUBLE)
