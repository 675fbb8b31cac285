"""Class names from the training data; classes that do not match num_classes; predictions
never overwritten."""

import pytest
import torch

from seqimaging.data import SequenceDataModule
from seqimaging.errors import SeqImagingError
from seqimaging.tasks import ClassificationTask, PredictionWriter
from seqimaging.testing import MovingShapes

TINY = {"stride": 4, "width": 8, "hidden_channels": 8}


def _fit(trainer, task, **kwargs):
    data = SequenceDataModule(MovingShapes(8, frames=3, size=16), batch_size=4, **kwargs)
    trainer(limit_val_batches=0, limit_train_batches=1).fit(task, datamodule=data)
    return data


def test_class_names_come_from_the_training_data(trainer, tmp_path):
    task = ClassificationTask(num_classes=4, model_kwargs=TINY)
    _fit(trainer, task)
    assert task.hparams.class_names == ["right", "down", "left", "up"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_classes": 3}, r"num_classes=3.*4 classes"),
        ({"num_classes": 4, "class_names": ["a", "b", "c", "d"]}, r"class_names=.*'right'"),
    ],
)
def test_classes_unlike_the_data_are_refused_at_the_start_of_fit(trainer, options, message):
    task = ClassificationTask(model_kwargs=TINY, **options)
    with pytest.raises(SeqImagingError, match=message):
        _fit(trainer, task)


def test_labels_beyond_num_classes_are_refused(trainer):
    class Unnamed(MovingShapes):
        class_names = ()

    task = ClassificationTask(num_classes=2, model_kwargs=TINY)
    data = SequenceDataModule(Unnamed(8, frames=3, size=16), batch_size=4)
    with pytest.raises(SeqImagingError, match=r"num_classes=2.*label 3"):
        trainer(limit_val_batches=0, limit_train_batches=1).fit(task, datamodule=data)


def test_prediction_writer_never_overwrites(trainer, tmp_path):
    task = ClassificationTask(num_classes=4, model_kwargs=TINY)
    data = SequenceDataModule(MovingShapes(8, frames=3, size=16), batch_size=4)
    run = trainer(callbacks=[PredictionWriter(tmp_path / "out")])
    run.predict(task, datamodule=data)
    first = (tmp_path / "out" / "predictions.pt").read_bytes()
    run.predict(task, datamodule=data)
    assert (tmp_path / "out" / "predictions.pt").read_bytes() == first
    second = torch.load(tmp_path / "out" / "predictions-2.pt", weights_only=True)
    assert second["predictions"].shape[1] == 4
