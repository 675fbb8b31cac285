"""Options given by name are checked at construction, from Python as from the CLI."""

import pytest
import torch

from seqimaging.errors import SeqImagingError
from seqimaging.tasks import ClassificationTask, ForecastTask, RegressionTask

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
SCHEDULERS = ["cosine", "none", "plateau"]
LOSSES = ["huber", "l1", "mse"]
CASES = [
    (task, option, names)
    for task in (ClassificationTask, RegressionTask, ForecastTask)
    for option, names in (("optimizer", sorted(OPTIMIZERS)), ("scheduler", SCHEDULERS))
] + [(task, "loss", LOSSES) for task in (RegressionTask, ForecastTask)]


@pytest.mark.parametrize(("task", "option", "names"), CASES)
@pytest.mark.parametrize("name", ["SGD", "rmsprop", "cosin", "smooth_l1"])
def test_an_unknown_name_fails_at_construction_with_the_valid_names(task, option, names, name):
    message = f"unknown {option} '{name}'; expected one of: {', '.join(names)}"
    with pytest.raises(SeqImagingError) as raised:
        task("no_such_model", **{option: name})  # checked before the model is built
    assert str(raised.value) == message


def _classifier(**options) -> ClassificationTask:
    return ClassificationTask(
        "static_classifier", num_classes=2, model_kwargs={"stride": 1, "width": 4}, **options
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_is_built_from_its_row(name):
    task = _classifier(optimizer=name, lr=0.1, weight_decay=0.01, momentum=0.8)
    config = task.configure_optimizers()
    optimizer = config["optimizer"]
    assert type(optimizer) is OPTIMIZERS[name] and "lr_scheduler" not in config
    assert optimizer.defaults["lr"] == 0.1 and optimizer.defaults["weight_decay"] == 0.01
    if name == "sgd":
        assert optimizer.defaults["momentum"] == 0.8


def test_plateau_schedule_monitors_the_validation_loss():
    schedule = _classifier(scheduler="plateau", patience=3).configure_optimizers()["lr_scheduler"]
    assert isinstance(schedule["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert schedule["scheduler"].patience == 3 and schedule["monitor"] == "val/loss"
