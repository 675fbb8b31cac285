"""Tests of seqimaging.models.seqnet: batches, lengths and masks.

References: the same model run on each unpadded sequence alone, on the last valid frame
alone, and on inputs that differ only where they must not matter (padding, masked
pixels).
"""

import pytest
import torch

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models import build_model
from seqimaging.models.seqnet import SeqNet

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}
SMALL = {"stride": 2, "width": 4, "hidden_channels": 5}
LENGTHS = torch.tensor([3, 2])


def _model(**kwargs) -> SeqNet:
    return SeqNet(2, 3, **{**SMALL, **kwargs}).double().eval()


def _frames(batch: int = 2, steps: int = 3) -> torch.Tensor:
    return torch.randn(batch, steps, 2, 13, 11, dtype=torch.float64)


SEQUENCE_MODELS = [
    pytest.param({"core": core, "pooling": pooling}, id=f"{core}-{pooling}")
    for core in ("convlstm", "lstm")
    for pooling in ("last", "attention", "mean")
] + [
    pytest.param(
        {"core": "lstm", "encoder": "resnet18", "stride": 8, "num_layers": 2}, id="cnn-lstm-resnet"
    ),
    pytest.param({"core": "convlstm", "num_layers": 2, "kernel_size": 1}, id="convlstm-2-layers"),
]


@pytest.mark.parametrize("kwargs", SEQUENCE_MODELS)
def test_padded_sequence_equals_unpadded_alone(kwargs):
    model = _model(**kwargs)
    frames = _frames()
    frames[1, 2:] = float("nan")  # padding: must never be read
    with torch.no_grad():
        out = model(frames, LENGTHS)
        alone = [model(frames[b : b + 1, :length]) for b, length in enumerate(LENGTHS.tolist())]
    assert out.shape == (2, 3)
    torch.testing.assert_close(out, torch.cat(alone), **DOUBLE)


def test_pooling_changes_the_output():
    """The pooling is used: last, mean and attention differ on the same weights."""
    frames = _frames()
    outputs = []
    for pooling in ("last", "mean", "attention"):
        torch.manual_seed(0)
        with torch.no_grad():
            outputs.append(_model(pooling=pooling)(frames, LENGTHS))
    assert not torch.allclose(outputs[0], outputs[1])
    assert not torch.allclose(outputs[0], outputs[2])


@pytest.mark.parametrize("core", ["static", "regions"])
def test_single_frame_cores_read_the_frame_they_are_told(core):
    frames = _frames()
    frames[1, 2:] = float("nan")
    last, first = _model(core=core, frame=-1), _model(core=core, frame=0)
    first.load_state_dict(last.state_dict())
    with torch.no_grad():
        out_last = last(frames, LENGTHS)
        out_first = first(frames, LENGTHS)
        for b, length in enumerate(LENGTHS.tolist()):
            alone = frames[b : b + 1, length - 1 : length]  # the last valid frame only
            torch.testing.assert_close(out_last[b : b + 1], first(alone), **DOUBLE)
            torch.testing.assert_close(out_first[b : b + 1], first(frames[b : b + 1, :1]), **DOUBLE)
    assert not torch.allclose(out_last, out_first)


def test_single_frame_out_of_range_raises():
    with pytest.raises(SeqImagingError, match="frame 2"):
        _model(core="static", frame=2)(_frames(), LENGTHS)  # the second sequence has 2 frames


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"core": "convlstm", "pooling": "mean"}, id="convlstm"),
        pytest.param({"core": "lstm", "pooling": "attention"}, id="lstm"),
        pytest.param({"core": "regions", "frame": -1}, id="regions"),
        pytest.param({"core": "static", "frame": -1}, id="static"),
    ],
)
def test_dict_equals_tensor_and_masked_pixels_do_not_matter(kwargs):
    model = _model(**kwargs)
    frames = _frames()
    mask = torch.rand(2, 3, 1, 13, 11) > 0.3
    mask[1, 2:] = False  # the collate function masks the padding
    batch = {"frames": frames, "lengths": LENGTHS, "mask": mask, "label": torch.tensor([0, 2])}
    nodata = torch.where(mask, frames, float("nan"))  # NaN nodata, as rasters have it
    shifted = torch.where(mask, frames, frames + 10)
    with torch.no_grad():
        out = model(batch)
        torch.testing.assert_close(out, model(frames, LENGTHS, mask), **DOUBLE)
        for changed in (nodata, shifted):
            torch.testing.assert_close(out, model({**batch, "frames": changed}), **DOUBLE)
        torch.testing.assert_close(out, model(torch.where(mask, frames, 0), LENGTHS), **DOUBLE)
        unmasked = model(frames, LENGTHS)
    assert not torch.allclose(out, unmasked)  # the mask is applied at all


def test_frames_only_dict_equals_tensor():
    model = _model()
    frames = _frames()
    with torch.no_grad():
        torch.testing.assert_close(model({"frames": frames}), model(frames), **DOUBLE)


def test_bad_inputs_raise():
    model = _model()
    with pytest.raises(ShapeError, match="3 channels"):
        model(torch.zeros(1, 2, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"\[B, T, C, H, W\]"):
        model(torch.zeros(2, 2, 8, 8, dtype=torch.float64))
    with pytest.raises(SeqImagingError, match="'gru'"):
        SeqNet(2, 3, core="gru")
    with pytest.raises(SeqImagingError, match="'max'"):
        SeqNet(2, 3, pooling="max")


def test_state_dict_names_are_those_of_saved_checkpoints():
    names = list(_model(pooling="attention").state_dict())
    assert names[-4:] == ["pool.score.weight", "pool.score.bias", "head.1.weight", "head.1.bias"]
    assert {name.split(".")[0] for name in names} == {"encoder", "core", "pool", "head"}


def test_docstring_example_shape():
    model = SeqNet(1, 5, core="convlstm", stride=4, hidden_channels=16)
    assert model(torch.randn(2, 6, 1, 32, 32)).shape == (2, 5)


def test_cnn_lstm_video_on_cached_features_is_the_same_model():
    torch.manual_seed(0)
    whole = build_model("cnn_lstm_video_classifier", num_classes=4).eval()
    lstm = whole.core.lstm
    assert (lstm.num_layers, lstm.hidden_size, lstm.input_size) == (2, 512, 512)
    cached = build_model(
        "cnn_lstm_video_classifier", in_channels=512, num_classes=4, encoder="identity"
    )
    head = {k: v for k, v in whole.state_dict().items() if not k.startswith("encoder.")}
    cached.load_state_dict(head)  # strict: the identity encoder has no weights
    frames = torch.rand(2, 5, 3, 64, 64)
    with torch.no_grad():
        features = whole.encoder(frames.flatten(0, 1)).mean(dim=(2, 3)).unflatten(0, (2, 5))
        torch.testing.assert_close(cached.eval()(features[..., None, None]), whole(frames))


def test_convlstm_over_imagenet_resnet_maps_skips_padding():
    torch.manual_seed(0)
    model = build_model(
        "convlstm_classifier",
        in_channels=3,
        num_classes=4,
        encoder="resnet18_imagenet",
        stride=32,
        hidden_channels=8,
    ).eval()
    frames = torch.rand(2, 3, 3, 64, 64)
    with torch.no_grad():
        padded = model(frames, lengths=torch.tensor([3, 2]))
        alone = model(frames[1:, :2])
    torch.testing.assert_close(padded[1:], alone)
    assert padded.shape == (2, 4)
