"""Shared parts copied between models, and what the encoder sees (frames, differences)."""

import pytest
import torch

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models import SeqNet, build_model
from seqimaging.models.transfer import model_from_hyperparameters, model_parts, transfer_parts

SIZES = {"stride": 4, "width": 8, "hidden_channels": 8}


def _forecaster(**changes):
    return build_model("convlstm_forecaster", in_channels=2, **(SIZES | changes))


def _classifier(name="convlstm_classifier", **changes):
    return build_model(name, in_channels=2, num_classes=3, **(SIZES | changes))


def test_a_classifier_takes_the_forecasters_encoder_and_convlstm_and_keeps_its_head():
    torch.manual_seed(0)
    source, target = _forecaster(), _classifier()
    head = {k: v.clone() for k, v in target.head.state_dict().items()}
    assert transfer_parts(source, target) == ["encoder", "convlstm"]
    for name, part in model_parts(target).items():
        theirs = model_parts(source)[name].state_dict()
        for key, value in part.state_dict().items():
            torch.testing.assert_close(value, theirs[key], rtol=0, atol=0)
    for key, value in target.head.state_dict().items():
        torch.testing.assert_close(value, head[key], rtol=0, atol=0)
    # same encoder and ConvLSTM weights → same hidden maps for the same frames
    frames = torch.randn(2, 4, 2, 16, 16)
    out_source, _ = source.core(source.encoder(frames.flatten(0, 1)).unflatten(0, (2, 4)))
    out_target, _ = target.core.convlstm(target.encoder(frames.flatten(0, 1)).unflatten(0, (2, 4)))
    torch.testing.assert_close(out_source, out_target)


def test_a_static_model_takes_only_the_encoder():
    assert transfer_parts(_forecaster(), _classifier("static_classifier")) == ["encoder"]


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"width": 16}, r"encoder\.body\.0\.0\.weight: \(8, 2, 3, 3\) in the source, \(16, 2"),
        ({"hidden_channels": 16}, r"convlstm\.layers\.0\.0\.weight_ih"),
        ({"inputs": "frames+differences"}, r"encoder\.body\.0\.0\.weight: \(8, 2, 3, 3\).*\(8, 4"),
    ],
)
def test_parts_of_other_shapes_are_refused_and_nothing_is_copied(changes, named):
    target = _classifier(**changes)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ShapeError, match=named):
        transfer_parts(_forecaster(), target, where="pretrained.ckpt")
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_another_encoder_class_and_no_common_part_are_refused():
    resnet = _classifier("cnn_lstm_classifier", width=8)  # ResNet trunk, LSTM core
    with pytest.raises(ShapeError, match="ConvEncoder in the source, ResNetEncoder here"):
        transfer_parts(_forecaster(), resnet)
    persistence = build_model("persistence_forecaster")
    with pytest.raises(SeqImagingError, match="shares no part"):
        transfer_parts(persistence, _classifier())


def test_the_model_is_rebuilt_from_a_tasks_hyperparameters():
    hparams = {"model": "convlstm_forecaster", "in_channels": 2, "horizon": 3, "lr": 0.1,
               "model_kwargs": SIZES}  # fmt: skip
    model = model_from_hyperparameters(hparams, "x.ckpt")
    assert model.horizon == 3 and model.in_channels == 2
    with pytest.raises(SeqImagingError, match=r"x\.ckpt does not name a registered model"):
        model_from_hyperparameters({"lr": 0.1}, "x.ckpt")


@pytest.mark.parametrize("inputs", ["frames", "differences", "frames+differences"])
def test_the_encoder_sees_frames_or_their_differences_from_the_first(inputs):
    torch.manual_seed(0)
    model = SeqNet(2, 3, inputs=inputs, **SIZES).eval()
    frames = torch.randn(2, 5, 2, 16, 16)
    seen = {
        "frames": frames,
        "differences": frames - frames[:, :1],
        "frames+differences": torch.cat([frames, frames - frames[:, :1]], dim=2),
    }[inputs]
    features = model.encoder(seen.flatten(0, 1)).unflatten(0, (2, 5))
    expected = model.head(model.pool(*model.core(features)))
    torch.testing.assert_close(model(frames), expected)
    if inputs == "differences":  # a sequence that does not move shows nothing
        still = frames[:, :1].expand(-1, 5, -1, -1, -1)
        moving = model(still)
        torch.testing.assert_close(moving, model(torch.zeros_like(still)))
