"""The cine benchmarks' recipes: phases, inputs, pretraining shared by a part's models."""

import numpy as np
import pytest
import torch

from seqimaging.bench.recipes import PHASES, QUICK, Recipe, Trainer
from seqimaging.data import InMemory
from seqimaging.medical import ACDC, CineDataset
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.tasks.checkpoints import load_checkpoint


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    root = make_acdc_like(tmp_path_factory.mktemp("acdc"), 2, seed=0)
    records = ACDC(root, "training").records
    samples = {
        phases: InMemory(CineDataset(records, QUICK.sampling(phases))).samples for phases in PHASES
    }
    for phases in PHASES:  # an EF target on every patient, as the benchmark gives
        for i, sample in enumerate(samples[phases]):
            sample["target"] = torch.tensor([50.0 + i])
    classes = list(ACDC.class_names)
    return Trainer(samples, classes, QUICK, 0, tmp_path_factory.mktemp("forecasters"))


def test_phases_give_the_frames_they_name(trainer):
    frames = {phases: trainer.samples[phases][0]["frames"] for phases in PHASES}
    assert frames["cycle"].shape[0] == frames["ED/ES-aligned"].shape[0] == QUICK.frames
    assert frames["ED and ES"].shape[0] == 2
    # ED first in all; the ED/ES-aligned sample has ES at es_at, as the 2-phase one has at 1
    for phases in PHASES:
        times = trainer.samples[phases][0]["times"]
        assert times[0] == 0
    es = trainer.samples["cycle"][0]["meta"]["es_phase"]
    assert trainer.samples["ED/ES-aligned"][0]["times"][QUICK.es_at].item() == pytest.approx(es)
    assert trainer.samples["ED and ES"][0]["times"][1].item() == pytest.approx(es)


def test_a_pretrained_recipe_starts_from_one_forecaster_per_training_set(trainer):
    recipe = Recipe("convlstm_classifier", "convlstm_regressor", "ED and ES", pretrained=True)
    train, test = np.arange(7), np.arange(7, 10)
    probabilities = trainer.predict(recipe, "diagnosis", [(train, test)])
    assert probabilities.shape == (3, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    ef = trainer.predict(recipe, "ef", [(train, test)])
    assert ef.shape == (3,) and np.isfinite(ef).all()
    (path,) = trainer._forecasters.values()  # the regressor reused the classifier's forecaster
    checkpoint = load_checkpoint(path)
    assert checkpoint["hyper_parameters"]["model"] == "convlstm_forecaster"
    assert checkpoint["hyper_parameters"]["horizon"] == 1  # ED → ES
    other = trainer.forecaster("ED and ES", [trainer.samples["ED and ES"][i] for i in range(5)])
    assert other != path and len(trainer._forecasters) == 2


def test_a_task_of_a_pretrained_recipe_holds_the_forecasters_weights(trainer):
    recipe = Recipe("convlstm_classifier", "convlstm_regressor", "cycle", pretrained=True)
    train = [trainer.samples["cycle"][i] for i in range(6)]
    task = trainer._task(recipe, "diagnosis", train)
    weights = load_checkpoint(task.init_from["path"])["state_dict"]
    torch.testing.assert_close(
        task.model.encoder.body[0][0].weight, weights["model.encoder.body.0.0.weight"]
    )
    assert task.init_from["parts"] == ["encoder", "convlstm"]
    scratch = trainer._task(Recipe("convlstm_classifier", "convlstm_regressor"), "diagnosis", train)
    assert scratch.init_from is None
    differences = Recipe("convlstm_classifier", "convlstm_regressor", inputs="frames+differences")
    assert trainer._task(differences, "ef", train).model.encoder.body[0][0].in_channels == 6
