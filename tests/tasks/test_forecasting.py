import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics.functional.image import structural_similarity_index_measure

from seqimaging.sample import collate
from seqimaging.tasks import ForecastTask
from seqimaging.testing import MovingShapes


class Offset(nn.Module):
    """A forecast that is the last frame plus a learnable offset, ignoring teacher forcing."""

    horizon = 3

    def __init__(self):
        super().__init__()
        self.offset = nn.Parameter(torch.zeros(3, 1, 1, 1))

    def forward(self, batch, future=None, teacher_forcing=0.0, horizon=None):
        frames = batch["frames"] if isinstance(batch, dict) else batch
        return frames[:, -1:] + self.offset


def _masked_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "frames": torch.rand(2, 4, 1, 12, 12, generator=g),
        "future": torch.rand(2, 3, 1, 12, 12, generator=g),
        "future_mask": torch.rand(2, 3, 1, 12, 12, generator=g) > 0.4,
    }


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
@pytest.mark.parametrize(
    ("loss", "function"), [("mse", F.mse_loss), ("l1", F.l1_loss), ("huber", F.huber_loss)]
)
def test_masked_loss_ignores_masked_pixels(loss, function):
    task = ForecastTask(Offset(), horizon=3, loss=loss)
    batch = _masked_batch()
    value = task.step(batch, "train")
    value.backward()
    forecast = batch["frames"][:, -1:].expand(-1, 3, -1, -1, -1)
    mask = batch["future_mask"]
    expected = function(forecast[mask], batch["future"][mask])
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    changed = dict(batch, future=torch.where(mask, batch["future"], 99.0))
    assert task.step(changed, "train").item() == pytest.approx(value.item(), rel=1e-6)
    unmasked = dict(batch, future_mask=None)
    assert task.step(unmasked, "train").item() != pytest.approx(value.item(), rel=1e-3)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
def test_loss_weights_weigh_valid_pixels_by_their_true_value():
    steps = [(0.3, 2.0), (0.7, 10.0)]
    task = ForecastTask(Offset(), horizon=3, loss="l1", loss_weights=steps)
    batch = _masked_batch(1)
    value = task.step(batch, "train")
    forecast = batch["frames"][:, -1:].expand(-1, 3, -1, -1, -1)
    truth, mask = batch["future"], batch["future_mask"]
    weight = torch.where(truth >= 0.7, 10.0, torch.where(truth >= 0.3, 2.0, 1.0)) * mask
    expected = ((forecast - truth).abs() * weight).sum() / weight.sum()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    unweighted = ForecastTask(Offset(), horizon=3, loss="l1").step(batch, "train")
    assert value.item() != pytest.approx(unweighted.item(), rel=1e-3)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
def test_huber_loss_is_huber_in_training():
    """Errors beyond Huber's delta of 1 tell it from MSE and from L1."""
    batch = _masked_batch(2)
    batch = {"frames": batch["frames"], "future": 3 * batch["future"]}
    task = ForecastTask(Offset(), horizon=3, loss="huber")
    forecast = batch["frames"][:, -1:].expand(-1, 3, -1, -1, -1)
    value = task.step(batch, "train")
    assert value.item() == pytest.approx(F.huber_loss(forecast, batch["future"]).item(), rel=1e-6)
    for other in (F.mse_loss(forecast, batch["future"]) / 2, F.l1_loss(forecast, batch["future"])):
        assert value.item() != pytest.approx(other.item(), rel=1e-2)


def test_lead_time_metrics_against_numpy(trainer):
    torch.manual_seed(0)  # the same model whatever ran before
    data = DataLoader(
        MovingShapes(10, frames=4, horizon=3, size=16, seed=4), batch_size=5, collate_fn=collate
    )
    task = ForecastTask(
        "convlstm_forecaster",
        horizon=3,
        model_kwargs={"stride": 2, "width": 4, "hidden_channels": 8},
    )
    logged = trainer().test(task, data, verbose=False)[0]
    forecast = torch.cat(trainer().predict(task, data)).double()
    truth = torch.stack([data.dataset[i]["future"] for i in range(10)]).double()
    last = torch.stack([data.dataset[i]["frames"][-1] for i in range(10)]).double()
    for k in range(3):
        mse = F.mse_loss(forecast[:, k], truth[:, k]).item()
        persistence = F.mse_loss(last, truth[:, k]).item()
        per_frame = ((forecast[:, k] - truth[:, k]) ** 2).mean(dim=(1, 2, 3))
        lead = f"lead{k + 1}"
        assert logged[f"test/mse_{lead}"] == pytest.approx(mse, rel=1e-4)
        assert logged[f"test/mae_{lead}"] == pytest.approx(
            (forecast[:, k] - truth[:, k]).abs().mean().item(), rel=1e-4
        )
        assert logged[f"test/skill_mse_{lead}"] == pytest.approx(1 - mse / persistence, rel=1e-4)
        assert logged[f"test/psnr_{lead}"] == pytest.approx(
            (-10 * torch.log10(per_frame)).mean().item(), rel=1e-4
        )
        ssim = structural_similarity_index_measure(forecast[:, k], truth[:, k], data_range=1.0)
        # SSIM of an untrained model is near 0, where a relative tolerance is float noise
        assert logged[f"test/ssim_{lead}"] == pytest.approx(ssim.item(), rel=1e-4, abs=1e-6)
    assert logged["test/mse"] == pytest.approx(
        np.mean([logged[f"test/mse_lead{k}"] for k in (1, 2, 3)]), rel=1e-6
    )


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
def test_masked_metrics_count_only_valid_pixels():
    task = ForecastTask(Offset(), horizon=3)
    batch = _masked_batch(1)
    task.step(batch, "test")
    values = task.test_metrics.compute()
    forecast = batch["frames"][:, -1:].expand(-1, 3, -1, -1, -1)
    mask = batch["future_mask"]
    for k in range(3):
        expected = ((forecast[:, k] - batch["future"][:, k]) ** 2)[mask[:, k]].mean()
        assert values["test/mse"][k].item() == pytest.approx(expected.item(), rel=1e-5)
    # forecast equal to persistence: no skill at any lead time
    np.testing.assert_allclose(values["test/skill_mse"].numpy(), 0.0, atol=1e-6)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")
def test_skill_pools_valid_pixels_against_the_last_valid_frame():
    task = ForecastTask(Offset(), horizon=3)
    with torch.no_grad():
        task.model.offset.fill_(0.1)
    batch = _masked_batch(3) | {"lengths": torch.tensor([4, 2])}
    task.step(batch, "test")
    skill = task.test_metrics.compute()["test/skill_mse"]
    frames, future, mask = batch["frames"], batch["future"], batch["future_mask"]
    forecast = frames[:, -1] + 0.1
    last = torch.stack([frames[0, 3], frames[1, 1]])  # persistence: the last valid frame
    for k in range(3):
        model = ((forecast - future[:, k]) ** 2)[mask[:, k]].sum()
        persistence = ((last - future[:, k]) ** 2)[mask[:, k]].sum()
        assert skill[k].item() == pytest.approx(1 - (model / persistence).item(), rel=1e-5)
    task.test_metrics.reset()
    task.step(dict(batch, future=torch.where(mask, future, 99.0)), "test")
    torch.testing.assert_close(task.test_metrics.compute()["test/skill_mse"], skill)


def test_scheduled_sampling_decays_linearly(trainer):
    task = ForecastTask(Offset(), horizon=3, teacher_forcing=0.8, teacher_forcing_steps=10)
    seen = []

    class Record(nn.Module):
        horizon = 3

        def forward(self, batch, future=None, teacher_forcing=0.0, horizon=None):
            seen.append(teacher_forcing)
            return task_model(batch)

    task_model, task.model = task.model, Record()
    task.model.register_module("inner", task_model)
    data = DataLoader(
        MovingShapes(8, frames=2, horizon=3, size=8), batch_size=2, collate_fn=collate
    )
    trainer(max_epochs=3).fit(task, data)
    assert seen == pytest.approx([0.8 * max(0.0, 1 - s / 10) for s in range(12)])


def test_skill_score_takes_the_reference_by_name_only():
    from seqimaging.tasks import SkillScore

    truth = torch.zeros(2, 3, 1, 4, 4)
    metric = SkillScore(3)
    with pytest.raises(TypeError):
        metric.update(truth + 1, truth, truth + 2)  # the old positional order
    metric.update(truth + 1, truth, reference=truth + 2)
    torch.testing.assert_close(metric.compute(), torch.full((3,), 0.75))
