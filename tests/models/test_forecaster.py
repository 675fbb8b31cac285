"""Tests of seqimaging.models.forecaster.

References: the model's own ConvLSTM run once over the encoded context followed by the
encoded inputs of every step (the true future under teacher forcing, the model's own
forecasts otherwise), each hidden output decoded with the model's decoder; the model
run on an unpadded context alone; inputs that differ only where they must not matter.
"""

import pytest
import torch

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.blocks import STRIDES
from seqimaging.models.decoders import FrameDecoder, PatchDecoder
from seqimaging.models.encoders import ConvEncoder, PatchEncoder, encode_frames
from seqimaging.models.forecaster import ConvLSTMForecaster

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}
SIZE = (13, 11)


def _model(**kwargs) -> ConvLSTMForecaster:
    kwargs = {"horizon": 3, "stride": 2, "width": 4, "hidden_channels": [5, 4], **kwargs}
    return ConvLSTMForecaster(2, **kwargs).double().eval()


def _frames(steps: int, batch: int = 2, size: tuple[int, int] = SIZE) -> torch.Tensor:
    return torch.randn(batch, steps, 2, *size, dtype=torch.float64)


def _reference(model: ConvLSTMForecaster, context, inputs) -> torch.Tensor:
    """Forecast ``k`` from the core run ONCE over context + ``inputs[:, :k]``.

    ``inputs[:, j]`` is the frame fed at step ``j + 1``; forecast ``k`` decodes the hidden
    output after it (after the last context frame for ``k = 0``) and, if residual, adds
    the frame just fed.
    """
    steps, horizon = context.shape[1], inputs.shape[1] + 1
    size = tuple(context.shape[-2:])
    sequence = torch.cat([context, inputs], dim=1)
    outputs, _ = model.core(encode_frames(model.encoder, sequence))
    bases = sequence[:, steps - 1 :]  # the frame just fed before each forecast
    forecasts = []
    for k in range(horizon):
        frame = model.decoder(outputs[:, steps - 1 + k], size)
        forecasts.append(bases[:, k] + frame if model.residual else frame)
    return torch.stack(forecasts, dim=1)


# --------------------------------------------------------------------------- rollout


@pytest.mark.parametrize("residual", [True, False])
def test_teacher_forcing_equals_one_pass_over_the_truth(residual):
    model = _model(residual=residual)
    context, future = _frames(4), _frames(3)
    with torch.no_grad():
        out = model(context, future=future, teacher_forcing=1.0)
        expected = _reference(model, context, future[:, :2])
    assert out.shape == (2, 3, 2, *SIZE)
    torch.testing.assert_close(out, expected, **DOUBLE)


@pytest.mark.parametrize("residual", [True, False])
def test_free_running_feeds_back_its_own_forecasts(residual):
    model = _model(residual=residual)
    context = _frames(4)
    with torch.no_grad():
        out = model(context)
        expected = _reference(model, context, out[:, :2])
    torch.testing.assert_close(out, expected, **DOUBLE)


def test_without_teacher_forcing_the_future_is_not_read():
    model = _model()
    context, future = _frames(4), _frames(3)
    with torch.no_grad():
        out = model(context)
        torch.testing.assert_close(out, model(context, future=future), **DOUBLE)
        torch.testing.assert_close(out, model(context, future=future + 1), **DOUBLE)
        forced = model(context, future=future, teacher_forcing=1.0)
    torch.testing.assert_close(out[:, 0], forced[:, 0], **DOUBLE)  # step 0 sees no future
    assert not torch.allclose(out[:, 1:], forced[:, 1:])


def test_partial_teacher_forcing_feeds_one_or_the_other_per_sample_and_step():
    model = _model(horizon=2)
    context, future = _frames(3, batch=6), _frames(1, batch=6)
    with torch.no_grad():
        free = model(context, future=future, teacher_forcing=0.0)
        forced = model(context, future=future, teacher_forcing=1.0)
        mixed = model(context, future=future, teacher_forcing=0.5)
    from_truth = [
        torch.allclose(m, f, **DOUBLE) for m, f in zip(mixed[:, 1], forced[:, 1], strict=True)
    ]
    from_model = [
        torch.allclose(m, f, **DOUBLE) for m, f in zip(mixed[:, 1], free[:, 1], strict=True)
    ]
    assert all(t != m for t, m in zip(from_truth, from_model, strict=True))  # one of the two
    assert any(from_truth) and any(from_model)  # both happen in this seeded batch
    torch.testing.assert_close(mixed[:, 0], free[:, 0], **DOUBLE)


def test_a_longer_horizon_extends_the_same_forecast():
    model = _model(horizon=2)
    context = _frames(3)
    with torch.no_grad():
        short = model(context)
        long = model(context, horizon=4)
    assert long.shape == (2, 4, 2, *SIZE)
    torch.testing.assert_close(long[:, :2], short, **DOUBLE)


def test_teacher_forcing_needs_the_future():
    model = _model()
    with pytest.raises(ShapeError, match="at least 2 frames"):
        model(_frames(3), teacher_forcing=0.5)
    with pytest.raises(ShapeError, match="at least 2 frames"):
        model(_frames(3), future=_frames(1), teacher_forcing=1.0)


# --------------------------------------------------------------------------- batches


def test_forecast_starts_after_the_last_valid_frame():
    model = _model()
    context, future = _frames(4), _frames(2)
    lengths = torch.tensor([4, 2])
    context[1, 2:] = float("nan")  # padding: must never be read
    with torch.no_grad():
        for forcing in (0.0, 1.0):
            out = model(context, lengths, future=future, teacher_forcing=forcing)
            alone = model(context[1:, :2], future=future[1:], teacher_forcing=forcing)
            torch.testing.assert_close(out[1:], alone, **DOUBLE)
            full = model(context[:1], future=future[:1], teacher_forcing=forcing)
            torch.testing.assert_close(out[:1], full, **DOUBLE)


def test_dict_equals_tensor_and_masked_pixels_do_not_matter():
    model = _model()
    context = _frames(3)
    lengths = torch.tensor([3, 2])
    mask = torch.rand(2, 3, 1, *SIZE) > 0.3
    mask[1, 2:] = False
    batch = {"frames": context, "lengths": lengths, "mask": mask}
    with torch.no_grad():
        out = model(batch)
        torch.testing.assert_close(out, model(context, lengths, mask), **DOUBLE)
        for changed in (torch.where(mask, context, float("nan")), context + 10 * ~mask):
            torch.testing.assert_close(out, model({**batch, "frames": changed}), **DOUBLE)
        assert not torch.allclose(out, model(context, lengths))  # the mask is applied at all


def test_bad_channels_raise():
    with pytest.raises(ShapeError, match="3 channels"):
        _model()(torch.zeros(1, 2, 3, *SIZE, dtype=torch.float64))


# --------------------------------------------------------------------------- decoder


@pytest.mark.parametrize("stride", STRIDES)
@pytest.mark.parametrize("size", [(13, 11), (1, 1), (7, 17)])
def test_decoder_returns_the_input_size(stride, size):
    encoder = ConvEncoder(2, stride=stride, width=4)
    decoder = FrameDecoder(encoder.out_channels, 3, stride=stride, width=4)
    hidden = encoder(torch.randn(2, 2, *size))
    assert decoder(hidden, size).shape == (2, 3, *size)


# --------------------------------------------------------------------------- patches


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_patch_encoder_stacks_each_patch_as_channels(stride):
    frames = torch.randn(3, 2, 8, 12, dtype=torch.float64)
    # channel by channel, each patch's pixels row by row (OpenSTL's reshape_patch puts the
    # channel last instead; the two agree for one channel)
    patches = frames.reshape(3, 2, 8 // stride, stride, 12 // stride, stride)
    expected = patches.permute(0, 1, 3, 5, 2, 4).reshape(3, 2 * stride**2, 8 // stride, -1)
    encoder = PatchEncoder(2, stride=stride)
    torch.testing.assert_close(encoder(frames), expected, **DOUBLE)
    assert encoder.out_channels == 2 * stride**2


def test_patch_decoder_with_identity_weights_inverts_the_encoder():
    encoder = PatchEncoder(2, stride=4)
    decoder = PatchDecoder(encoder.out_channels, 2, stride=4).double()
    with torch.no_grad():
        decoder.out.weight.copy_(torch.eye(32, dtype=torch.float64)[:, :, None, None])
    frames = torch.randn(3, 2, 8, 12, dtype=torch.float64)
    torch.testing.assert_close(decoder(encoder(frames), (8, 12)), frames, **DOUBLE)


@pytest.mark.parametrize("residual", [True, False])
def test_patch_forecaster_rolls_out_like_the_reference(residual):
    model = _model(encoder="patch", stride=4, residual=residual)
    context, future = _frames(4, size=(8, 12)), _frames(3, size=(8, 12))
    with torch.no_grad():
        forced = model(context, future=future, teacher_forcing=1.0)
        free = model(context)
        torch.testing.assert_close(forced, _reference(model, context, future[:, :2]), **DOUBLE)
        torch.testing.assert_close(free, _reference(model, context, free[:, :2]), **DOUBLE)
    assert free.shape == (2, 3, 2, 8, 12)
    assert model.core.in_channels == 32


def test_patch_sizes_must_divide_the_frame_and_encoder_names_are_checked():
    with pytest.raises(ShapeError, match="multiples of 4"):
        _model(encoder="patch", stride=4)(_frames(3))
    with pytest.raises(SeqImagingError, match="'resnet18'; expected one of: conv, patch"):
        _model(encoder="resnet18")


def test_docstring_example_shape():
    model = ConvLSTMForecaster(1, horizon=3, stride=2, hidden_channels=16)
    assert model(torch.rand(2, 5, 1, 17, 15)).shape == (2, 3, 1, 17, 15)
