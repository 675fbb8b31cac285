"""Tests of seqimaging.models.registry, and of every registered model at its defaults.

The model tests are parametrised over ``list_models()``, so a newly registered model is
covered without editing this file; its name must end in ``_classifier``, ``_regressor``
or ``_forecaster`` (the task argument is chosen from it).
"""

import pytest
import torch
from torch import nn

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError
from seqimaging.models import registry
from seqimaging.models.registry import build_model, list_models, register_model

BATCH, STEPS, CHANNELS, HEIGHT, WIDTH = 2, 3, 3, 13, 11  # RGB: every model reads it
LENGTHS = torch.tensor([3, 2])  # the second sequence is padded
TASK_ARGUMENTS = {  # name suffix → (build argument, output shape after B)
    "_classifier": ({"num_classes": 3}, (3,)),
    "_regressor": ({"num_targets": 2}, (2,)),
    "_forecaster": ({"horizon": 2}, (2, CHANNELS, HEIGHT, WIDTH)),
}


def _build(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    """The registered model ``name`` at its defaults, and the shape of its output."""
    for suffix, (kwargs, shape) in TASK_ARGUMENTS.items():
        if name.endswith(suffix):
            return build_model(name, in_channels=CHANNELS, **kwargs), (BATCH, *shape)
    pytest.fail(f"{name}: add its task arguments to TASK_ARGUMENTS in {__file__}")


def _batch() -> dict[str, torch.Tensor]:
    frames = torch.randn(BATCH, STEPS, CHANNELS, HEIGHT, WIDTH)
    mask = torch.rand(BATCH, STEPS, 1, HEIGHT, WIDTH) > 0.2
    mask[1, 2:] = False  # padding is masked out, as the collate function does
    frames[1, 2:] = 0
    return {"frames": frames, "lengths": LENGTHS, "mask": mask}


# --------------------------------------------------------------------------- every model


@pytest.mark.parametrize("name", list_models())
def test_model_forward_and_backward(name):
    """At random weights: an output layer that starts at zero (the motion forecaster's
    correction) would hide the other layers' gradients at initialisation."""
    model, shape = _build(name)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = _batch()
    frames = batch["frames"].requires_grad_()
    out = model(batch)
    assert out.shape == shape
    assert torch.isfinite(out).all()
    weights = torch.randn(out.shape)  # every output element gets a gradient
    (out * weights).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"
    assert torch.isfinite(frames.grad).all()
    assert frames.grad[0].abs().sum() > 0
    assert torch.equal(frames.grad[1, 2:], torch.zeros_like(frames.grad[1, 2:]))  # padding


@pytest.mark.parametrize("name", list_models())
def test_model_reads_the_batch_dict_like_its_tensors(name):
    model, _ = _build(name)
    model.eval()
    batch = _batch()
    with torch.no_grad():
        from_dict = model({**batch, "label": torch.tensor([0, 1]), "meta": [{}, {}]})
        from_tensors = model(batch["frames"], batch["lengths"], batch["mask"])
    torch.testing.assert_close(from_dict, from_tensors, atol=0, rtol=0)


# --------------------------------------------------------------------------- registry


def test_list_models_is_sorted_and_has_the_builtin_models():
    names = list_models()
    assert names == sorted(names)
    builtin = {
        "cnn_lstm_classifier",
        "cnn_lstm_regressor",
        "convlstm_classifier",
        "convlstm_forecaster",
        "convlstm_regressor",
        "linear_forecaster",
        "persistence_forecaster",
        "regions_classifier",
        "static_classifier",
        "static_regressor",
    }
    assert builtin <= set(names)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(SeqImagingError, match="'convlstm_clasifier'") as info:
        build_model("convlstm_clasifier", in_channels=1, num_classes=2)
    for name in list_models():
        assert name in str(info.value)


def test_missing_argument_names_it():
    with pytest.raises(SeqImagingError, match="num_classes"):
        build_model("convlstm_classifier", in_channels=1)


@pytest.mark.parametrize(
    ("name", "kwargs", "bad"),
    [
        ("convlstm_classifier", {"num_classes": 2, "hiden_channels": 3}, "hiden_channels"),
        ("convlstm_forecaster", {"num_classes": 2}, "num_classes"),
        ("cnn_lstm_regressor", {"encoder": "small", "horizon": 2}, "horizon"),
    ],
)
def test_unknown_argument_names_it(name, kwargs, bad):
    """Builders pass ``**kwargs`` on; the model class rejects a misspelt one by name."""
    with pytest.raises((SeqImagingError, TypeError), match=f"'{bad}'"):
        build_model(name, in_channels=1, **kwargs)


@pytest.fixture
def scratch_models(monkeypatch) -> Choices:
    """A copy of the model table in its place for one test; the real one is left as it was."""
    table = Choices("model", registry.MODELS)
    monkeypatch.setattr(registry, "MODELS", table)
    return table


def test_register_model_adds_a_builder_under_its_name(scratch_models):
    before = list_models()

    def tiny_linear_classifier(in_channels: int, num_classes: int) -> nn.Module:
        return nn.Linear(in_channels, num_classes)

    assert register_model(tiny_linear_classifier) is tiny_linear_classifier
    assert scratch_models["tiny_linear_classifier"] is tiny_linear_classifier
    assert list_models() == sorted([*before, "tiny_linear_classifier"])
    model = build_model("tiny_linear_classifier", in_channels=4, num_classes=3)
    assert isinstance(model, nn.Linear)
    assert (model.in_features, model.out_features) == (4, 3)
    with pytest.raises(SeqImagingError, match="width") as info:
        build_model("tiny_linear_classifier", in_channels=4, num_classes=3, width=2)
    assert "(in_channels: int, num_classes: int)" in str(info.value)  # the signature


def test_registering_a_name_twice_raises(scratch_models):
    builtin = scratch_models["convlstm_classifier"]

    def convlstm_classifier(in_channels: int, num_classes: int) -> nn.Module:
        return nn.Linear(in_channels, num_classes)

    with pytest.raises(SeqImagingError, match="model 'convlstm_classifier' is registered already"):
        register_model(convlstm_classifier)
    assert scratch_models["convlstm_classifier"] is builtin


def test_the_scratch_table_is_gone_after_its_test():
    assert "tiny_linear_classifier" not in list_models()
    assert registry.MODELS.kind == "model" and "convlstm_classifier" in registry.MODELS
