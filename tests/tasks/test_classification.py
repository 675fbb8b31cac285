import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from torch import nn
from torch.utils.data import DataLoader

from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask
from seqimaging.testing import MovingShapes

TINY = {"stride": 4, "width": 4, "hidden_channels": 8}


def test_metrics_agree_with_scikit_learn(trainer):
    data = DataLoader(MovingShapes(40, frames=3, size=12, seed=3), batch_size=8, collate_fn=collate)
    task = ClassificationTask(
        "convlstm_classifier",
        in_channels=1,
        num_classes=4,
        model_kwargs=TINY,
        class_names=["right", "down", "left", "up"],
    )
    trainer().fit(task, data)
    logged = trainer().test(task, data, verbose=False)[0]
    probs = torch.cat(trainer().predict(task, data)).numpy()
    labels = np.array(data.dataset.labels)
    predicted = probs.argmax(1)
    confusion = skm.confusion_matrix(labels, predicted, labels=range(4))
    recall = skm.recall_score(labels, predicted, average=None, labels=range(4), zero_division=0)
    negatives = confusion.sum() - confusion.sum(0) - confusion.sum(1) + np.diag(confusion)
    specificity = negatives / (negatives + confusion.sum(0) - np.diag(confusion))
    expected = {
        "test/accuracy": skm.accuracy_score(labels, predicted),
        "test/balanced_accuracy": skm.balanced_accuracy_score(labels, predicted),
        "test/f1": skm.f1_score(labels, predicted, average="macro", zero_division=0),
        "test/auroc": skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"),
    }
    for name, value in expected.items():
        assert logged[name] == pytest.approx(value, abs=1e-5), name
    for k, name in enumerate(["right", "down", "left", "up"]):
        assert logged[f"test/recall_{name}"] == pytest.approx(recall[k], abs=1e-6)
        assert logged[f"test/specificity_{name}"] == pytest.approx(specificity[k], abs=1e-6)
    np.testing.assert_array_equal(task.last_metrics["test/confusion_matrix"].numpy(), confusion)


class FixedLogits(nn.Module):
    """Logits that ignore the input: a learnable row per batch position."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, batch):
        return self.logits


def test_loss_is_weighted_and_smoothed_cross_entropy():
    logits = [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]
    task = ClassificationTask(
        FixedLogits(logits), num_classes=3, class_weights=[1.0, 2.0, 0.5], label_smoothing=0.1
    )
    labels = torch.tensor([1, 2])
    with pytest.warns(UserWarning, match="log"):
        loss = task.step({"label": labels}, "train")
    expected = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]), label_smoothing=0.1)(
        torch.tensor(logits), labels
    )
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert "model" not in task.hparams and task.hparams.num_classes == 3


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimisers_and_cosine_schedule(trainer, optimizer):
    data = DataLoader(MovingShapes(8, frames=2, size=8), batch_size=4, collate_fn=collate)
    task = ClassificationTask(
        "static_classifier",
        num_classes=4,
        model_kwargs={"stride": 1, "width": 4},
        optimizer=optimizer,
        lr=0.1,
        scheduler="cosine",
    )
    fit = trainer(max_epochs=2)
    fit.fit(task, data)
    opt = fit.optimizers[0]
    assert type(opt).__name__.lower() == optimizer
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine ends at 0
    assert fit.lr_scheduler_configs[0].interval == "step"


def test_a_batch_moves_to_the_device_but_its_meta_stays_as_it_is():
    batch = collate([MovingShapes(2, frames=3, size=8)[i] for i in range(2)])
    task = ClassificationTask(
        "convlstm_classifier", in_channels=1, num_classes=4, model_kwargs=TINY
    )
    moved = task.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert list(moved) == list(batch) and moved["meta"] is batch["meta"]
    tensors = [k for k, v in batch.items() if isinstance(v, torch.Tensor)]
    assert tensors and all(moved[k].device.type == "meta" for k in tensors)
    frames = task.transfer_batch_to_device(batch["frames"], torch.device("meta"), 0)
    assert frames.device.type == "meta"
