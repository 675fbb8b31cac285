"""Exported programs against PyTorch: onnxruntime and torch.export at two shapes each,
and a forecast driven frame by frame by a numpy loop over the exported step."""

import json
import sys

import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer

from seqimaging.cli import main
from seqimaging.data import SequenceDataModule
from seqimaging.errors import MissingExtraError, SeqImagingError
from seqimaging.inference.export import export_checkpoint, export_model, initial_states
from seqimaging.models import build_model
from seqimaging.report import ModelCard
from seqimaging.tasks import ForecastTask
from seqimaging.testing import MovingShapes

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
SHAPES = [(2, 16, 20), (1, 24, 30)]  # (B, H, W); the length is the example's


def _forecaster():
    torch.manual_seed(0)
    return build_model(
        "convlstm_forecaster", in_channels=1, horizon=3, stride=2, hidden_channels=[4, 5]
    ).eval()


def _numpy_forecast(folder, context: np.ndarray, model) -> np.ndarray:
    """The exported step pushed over ``context`` ``[B, T, C, H, W]`` in a numpy loop,
    then the exported forecast."""
    step = ort.InferenceSession(str(folder / "step.onnx"))
    rollout = ort.InferenceSession(str(folder / "forecast.onnx"))
    states = [t.numpy() for t in initial_states(model, torch.from_numpy(context[:, 0]))]
    names = [i.name for i in step.get_inputs()]
    for t in range(context.shape[1]):
        states = step.run(None, dict(zip(names, [context[:, t], *states], strict=True)))
    names = [i.name for i in rollout.get_inputs()]
    return rollout.run(None, dict(zip(names, [context[:, -1], *states], strict=True)))[0]


@pytest.fixture(scope="module")
def onnx_forecaster(tmp_path_factory):
    model = _forecaster()
    folder = export_model(
        model, tmp_path_factory.mktemp("x") / "f", "onnx", torch.rand(1, 4, 1, 16, 16)
    )
    return model, folder


@pytest.mark.parametrize("shape", SHAPES)
def test_a_numpy_loop_over_the_onnx_step_reproduces_the_forecast(onnx_forecaster, shape):
    model, folder = onnx_forecaster
    batch, height, width = shape
    context = torch.rand(batch, 5, 1, height, width)  # another length than the example's
    with torch.no_grad():
        expected = model(context).numpy()
    got = _numpy_forecast(folder, context.numpy(), model)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_the_manifest_names_every_program(onnx_forecaster):
    model, folder = onnx_forecaster
    manifest = json.loads((folder / "export.json").read_text())
    assert manifest["format"] == "onnx" and manifest["model"] == "ConvLSTMForecaster"
    assert set(manifest["programs"]) == {"step", "forecast"}
    assert list(manifest["programs"]["step"]["inputs"]) == ["frame", "h_0", "c_0", "h_1", "c_1"]
    assert manifest["versions"]["torch"]
    layout = manifest["states"]
    assert [s["name"] for s in layout["inputs"]] == ["h_0", "c_0", "h_1", "c_1"]
    assert [s["shape"] for s in layout["inputs"]] == [[2, c, 8, 8] for c in (4, 4, 5, 5)]
    assert layout["stride"] == 2 and {s["fill"] for s in layout["inputs"]} == {0.0}
    at = [tuple(t.shape) for t in initial_states(model, torch.rand(2, 1, 16, 20))]
    assert at == [(2, c, 8, 10) for c in (4, 4, 5, 5)]  # ceil(16 / 2), ceil(20 / 2)
    card = json.loads((folder / "model_card.json").read_text())  # the model's own
    assert card["model"]["parameters"] == sum(p.numel() for p in model.parameters())
    assert card["training"] is None and "## Export" in (folder / "model_card.md").read_text()


CLASSIFIERS = {
    "convlstm, attention, frames+differences": dict(
        model="convlstm_classifier",
        pooling="attention",
        inputs="frames+differences",
        num_layers=2,
    ),
    "lstm, 2 layers, mean": dict(
        model="cnn_lstm_classifier", encoder="small", pooling="mean", num_layers=2
    ),
}


@pytest.fixture(scope="module", params=list(CLASSIFIERS))
def onnx_classifier(request, tmp_path_factory):
    torch.manual_seed(0)
    settings = dict(CLASSIFIERS[request.param])
    model = build_model(
        settings.pop("model"),
        in_channels=2,
        num_classes=3,
        stride=2,
        width=4,
        hidden_channels=5,
        **settings,
    ).eval()
    folder = tmp_path_factory.mktemp("c") / "c"
    return model, export_model(model, folder, "onnx", torch.rand(1, 4, 2, 16, 16))


def test_a_classifier_exports_its_whole_sequence(onnx_classifier):
    model, folder = onnx_classifier
    session = ort.InferenceSession(str(folder / "sequence.onnx"))
    for batch, height, width in SHAPES:
        frames = torch.rand(batch, 4, 2, height, width)
        with torch.no_grad():
            expected = model(frames).numpy()
        got = session.run(None, {session.get_inputs()[0].name: frames.numpy()})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_a_numpy_loop_over_the_classifier_step_gives_every_prefix(onnx_classifier):
    model, folder = onnx_classifier
    step = ort.InferenceSession(str(folder / "step.onnx"))
    names = [i.name for i in step.get_inputs()]
    manifest = json.loads((folder / "export.json").read_text())
    assert names == ["frame", "first", *(s["name"] for s in manifest["states"]["inputs"])]
    for batch, height, width in SHAPES:
        frames = torch.rand(batch, 6, 2, height, width)  # longer than the example
        states = [t.numpy() for t in initial_states(model, frames[:, 0])]
        for t in range(frames.shape[1]):
            inputs = [frames[:, t].numpy(), frames[:, 0].numpy(), *states]
            outputs, *states = step.run(None, dict(zip(names, inputs, strict=True)))
            with torch.no_grad():
                expected = model(frames[:, : t + 1]).numpy()
            np.testing.assert_allclose(outputs, expected, atol=1e-4, rtol=0)


def test_torch_export_programs_equal_the_model(tmp_path):
    model = _forecaster()
    folder = export_model(model, tmp_path / "t", "torch-export", torch.rand(1, 3, 1, 16, 16))
    step = torch.export.load(folder / "step.pt2").module()
    rollout = torch.export.load(folder / "forecast.pt2").module()
    for batch, height, width in SHAPES:
        context = torch.rand(batch, 4, 1, height, width)
        states = initial_states(model, context[:, 0])
        with torch.no_grad():
            for t in range(4):
                states = step(context[:, t], *states)
            torch.testing.assert_close(rollout(context[:, -1], *states), model(context))


def test_refusals(tmp_path, monkeypatch):
    model = _forecaster()
    frames = torch.rand(1, 3, 1, 16, 16)
    (tmp_path / "taken").mkdir()
    with pytest.raises(SeqImagingError, match="exists; expected a new folder"):
        export_model(model, tmp_path / "taken", "onnx", frames)
    with pytest.raises(SeqImagingError, match="unknown export format 'tflite'"):
        export_model(model, tmp_path / "a", "tflite", frames)
    motion = build_model("motion_forecaster", in_channels=1)
    with pytest.raises(SeqImagingError, match="MotionForecaster is not supported"):
        export_model(motion, tmp_path / "b", "torch-export", frames)
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if the extra were missing
    with pytest.raises(MissingExtraError, match="export"):
        export_model(model, tmp_path / "c", "onnx", frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # nothing half-written
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(SeqImagingError, match=r"broken\.ckpt"):
        export_checkpoint(tmp_path / "broken.ckpt", tmp_path / "d", "onnx")


def test_the_export_command_on_a_trained_checkpoint(tmp_path, capsys):
    torch.manual_seed(0)
    task = ForecastTask(
        "convlstm_forecaster",
        in_channels=1,
        horizon=2,
        model_kwargs={"hidden_channels": 4, "width": 4, "stride": 2},
    )
    data = SequenceDataModule(MovingShapes(8, frames=3, horizon=2, size=16), batch_size=4)
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCard(tmp_path)],
    )
    trainer.fit(task, data)
    trainer.save_checkpoint(tmp_path / "f.ckpt")
    main(
        [
            "export",
            "--ckpt_path",
            str(tmp_path / "f.ckpt"),
            "--format",
            "onnx",
            "--out",
            str(tmp_path / "out"),
            "--frames",
            "3",
            "--size",
            "16",
        ]
    )
    assert str(tmp_path / "out") in capsys.readouterr().out
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())  # the fit's card
    assert card["training"]["steps"] == 1 and card["model"]["flops"]["shape"] == [3, 1, 16, 16]
    assert card["export"] == {
        "format": "onnx",
        "programs": {"step": "step.onnx", "forecast": "forecast.onnx"},
    }
    context = torch.rand(2, 3, 1, 16, 16)
    with torch.no_grad():
        expected = task.eval().model(context).numpy()
    got = _numpy_forecast(tmp_path / "out", context.numpy(), task.model)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
