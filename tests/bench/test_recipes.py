"""The cine benchmarks' recipes: phases, inputs, pretraining shared by a part's models."""

import numpy as np
import pytest
import torch

from seqimaging.bench.recipes import PHASES, QUICK, Recipe, RecipeRunner
from seqimaging.data import InMemory
from seqimaging.medical import ACDC, CineDataset
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.tasks.checkpoints import load_checkpoint


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    root = make_acdc_like(tmp_path_factory.mktemp("acdc"), 2, seed=0)
    records = ACDC(root, "training").records
    samples = {
        phases: InMemory(CineDataset(records, QUICK.sampling(phases))).samples for phases in PHASES
    }
    for phases in PHASES:  # an EF target on every patient, as the benchmark gives
        for i, sample in enumerate(samples[phases]):
            sample["target"] = torch.tensor([50.0 + i])
    classes = list(ACDC.class_names)
    return RecipeRunner(samples, classes, QUICK, 0, tmp_path_factory.mktemp("forecasters"))


def test_phases_give_the_frames_they_name(runner):
    frames = {phases: runner.samples[phases][0]["frames"] for phases in PHASES}
    assert frames["cycle"].shape[0] == frames["ED/ES-aligned"].shape[0] == QUICK.frames
    assert frames["ED and ES"].shape[0] == 2
    # ED first in all; the ED/ES-aligned sample has ES at es_at, as the 2-phase one has at 1
    for phases in PHASES:
        times = runner.samples[phases][0]["times"]
        assert times[0] == 0
    es = runner.samples["cycle"][0]["meta"]["es_phase"]
    assert runner.samples["ED/ES-aligned"][0]["times"][QUICK.es_at].item() == pytest.approx(es)
    assert runner.samples["ED and ES"][0]["times"][1].item() == pytest.approx(es)


def test_a_pretrained_recipe_starts_from_one_forecaster_per_training_set(runner):
    recipe = Recipe("convlstm_classifier", "convlstm_regressor", "ED and ES", pretrained=True)
    train, test = np.arange(7), np.arange(7, 10)
    probabilities = runner.predict(recipe, "diagnosis", [(train, test)])
    assert probabilities.shape == (3, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    ef = runner.predict(recipe, "ef", [(train, test)])
    assert ef.shape == (3,) and np.isfinite(ef).all()
    (path,) = runner._forecasters.values()  # the regressor reused the classifier's forecaster
    checkpoint = load_checkpoint(path)
    assert checkpoint["hyper_parameters"]["model"] == "convlstm_forecaster"
    assert checkpoint["hyper_parameters"]["horizon"] == 1  # ED → ES
    other = runner.forecaster("ED and ES", [runner.samples["ED and ES"][i] for i in range(5)])
    assert other != path and len(runner._forecasters) == 2


def test_a_task_of_a_pretrained_recipe_holds_the_forecasters_weights(runner):
    recipe = Recipe("convlstm_classifier", "convlstm_regressor", "cycle", pretrained=True)
    train = [runner.samples["cycle"][i] for i in range(6)]
    task = runner._task(recipe, "diagnosis", train)
    weights = load_checkpoint(task.init_from["path"])["state_dict"]
    torch.testing.assert_close(
        task.model.encoder.body[0][0].weight, weights["model.encoder.body.0.0.weight"]
    )
    assert task.init_from["parts"] == ["encoder", "convlstm"]
    scratch = runner._task(Recipe("convlstm_classifier", "convlstm_regressor"), "diagnosis", train)
    assert scratch.init_from is None
    differences = Recipe("convlstm_classifier", "convlstm_regressor", inputs="frames+differences")
    assert runner._task(differences, "ef", train).model.encoder.body[0][0].in_channels == 6
