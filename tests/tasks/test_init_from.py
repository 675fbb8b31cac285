"""A task started from another task's checkpoint (``init_from``): the shared parts copied,
shapes checked, the start recorded, its own checkpoints independent of the file."""

import pytest
import torch

from seqimaging.cli import main
from seqimaging.data import SequenceDataModule
from seqimaging.errors import ShapeError
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask
from seqimaging.tasks.checkpoints import CheckpointError
from seqimaging.tasks.training import fit, quiet_trainer
from seqimaging.testing import MovingShapes

SIZES = {"stride": 4, "width": 8, "hidden_channels": 8}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A forecaster trained for a few steps on MovingShapes, saved as a checkpoint."""
    torch.manual_seed(0)
    task = ForecastTask(in_channels=1, horizon=2, model_kwargs=SIZES, lr=1e-2)
    data = SequenceDataModule(MovingShapes(16, frames=4, horizon=2, size=16), batch_size=4)
    trainer = quiet_trainer(max_steps=3)
    trainer.fit(task, data)
    path = tmp_path_factory.mktemp("pretrained") / "forecaster.ckpt"
    trainer.save_checkpoint(path)
    return path, task.model


@pytest.mark.parametrize("task_class", [ClassificationTask, RegressionTask])
def test_a_classifier_or_regressor_starts_from_the_forecasters_encoder_and_core(
    pretrained, task_class
):
    path, forecaster = pretrained
    model = "convlstm_classifier" if task_class is ClassificationTask else "convlstm_regressor"
    task = task_class(model, in_channels=1, model_kwargs=SIZES, init_from=str(path))
    assert task.init_from == {"path": str(path), "parts": ["encoder", "convlstm"]}
    pairs = [(task.model.encoder, forecaster.encoder), (task.model.core.convlstm, forecaster.core)]
    for ours, theirs in pairs:
        for (key, value), (_, expected) in zip(
            ours.state_dict().items(), theirs.state_dict().items(), strict=True
        ):
            torch.testing.assert_close(value, expected, rtol=0, atol=0, msg=key)
    fresh = task_class(model, in_channels=1, model_kwargs=SIZES)
    assert not torch.equal(
        fresh.model.encoder.body[0][0].weight, forecaster.encoder.body[0][0].weight
    )


def test_the_fine_tuned_checkpoint_records_its_start_and_loads_without_it(pretrained, tmp_path):
    source, _ = pretrained
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(source.read_bytes())
    task = ClassificationTask(in_channels=1, num_classes=4, model_kwargs=SIZES, init_from=copy)
    data = SequenceDataModule(MovingShapes(8, frames=4, size=16), batch_size=4)
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(task, data)
    tuned = tmp_path / "tuned.ckpt"
    trainer.save_checkpoint(tuned)
    copy.unlink()  # the pretrained file is gone: the fine-tuned model must not need it
    checkpoint = torch.load(tuned, weights_only=True)
    assert checkpoint["init_from"]["path"] == str(copy)
    assert "init_from" not in checkpoint["hyper_parameters"]
    loaded = ClassificationTask.load_from_checkpoint(tuned)
    torch.testing.assert_close(loaded.model.head[1].weight, task.model.head[1].weight)


def test_a_checkpoint_of_other_sizes_is_refused_naming_the_file_and_tensor(pretrained):
    path, _ = pretrained
    with pytest.raises(ShapeError, match=rf"{path.name} does not fit SeqNet: encoder\.body"):
        ClassificationTask(in_channels=1, model_kwargs=SIZES | {"width": 16}, init_from=path)
    with pytest.raises(ShapeError, match="ConvEncoder in the source, ResNetEncoder here"):
        ClassificationTask("cnn_lstm_classifier", in_channels=1, init_from=path)


def test_a_missing_or_damaged_checkpoint_is_a_checkpoint_error(pretrained, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        ClassificationTask(in_channels=1, init_from=tmp_path / "none.ckpt")
    damaged = tmp_path / "damaged.ckpt"
    damaged.write_bytes(pretrained[0].read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"damaged\.ckpt"):
        ClassificationTask(in_channels=1, model_kwargs=SIZES, init_from=damaged)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_cli_fits_from_init_from(pretrained, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main([
        "fit", "--model=ClassificationTask", "--model.in_channels=1", "--model.num_classes=4",
        "--model.model_kwargs={stride: 4, width: 8, hidden_channels: 8}",
        f"--model.init_from={pretrained[0]}",
        "--data=SequenceDataModule", "--data.dataset=seqimaging.testing.MovingShapes",
        "--data.dataset.num_samples=8", "--data.dataset.frames=4", "--data.dataset.size=16",
        "--data.batch_size=4", "--trainer.max_steps=1", "--trainer.limit_val_batches=0",
    ])  # fmt: skip
    (run,) = (tmp_path / "runs").iterdir()
    assert f"init_from: {pretrained[0]}" in (run / "config.yaml").read_text()
    (checkpoint,) = run.rglob("*.ckpt")
    assert torch.load(checkpoint, weights_only=True)["init_from"]["parts"] == [
        "encoder",
        "convlstm",
    ]


def test_fit_of_a_started_model_trains_from_the_copied_weights(pretrained):
    path, forecaster = pretrained
    task = ClassificationTask(in_channels=1, num_classes=4, model_kwargs=SIZES, init_from=path)
    before = task.model.encoder.body[0][0].weight.clone()
    fit(task, SequenceDataModule(MovingShapes(8, frames=4, size=16), batch_size=4), max_steps=1)
    torch.testing.assert_close(before, forecaster.encoder.body[0][0].weight, rtol=0, atol=0)
    assert not torch.equal(task.model.encoder.body[0][0].weight, before)
