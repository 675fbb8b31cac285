"""The ucf101 benchmark end to end on its quick run, on generated clips and on a
UCF101-style tree of real clips (--root).

References: scikit-learn's top_k_accuracy_score; the majority class recomputed from the
training list.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import top_k_accuracy_score

from seqimaging.bench import BENCHMARKS
from seqimaging.bench.ucf101 import VideoOptions, top_k_accuracy
from seqimaging.video import UCF101

UCF_MINI = Path(__file__).parents[1] / "data" / "video" / "ucf_mini"
MODELS = {
    "CNN+LSTM (frozen features)",
    "single frame (averaged predictions)",
    "mean-pooled features",
    "majority class",
}


def test_top_k_accuracy_is_scikit_learns():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(6), size=40)
    labels = rng.integers(0, 6, 40)
    for k in (1, 2, 5):
        expected = top_k_accuracy_score(labels, probabilities, k=k, labels=range(6))
        assert top_k_accuracy(labels, probabilities, k) == pytest.approx(expected)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    out = tmp_path_factory.mktemp("ucf101")
    BENCHMARKS["ucf101"].run(out, VideoOptions(quick=True, seed=1, device="cpu"))
    return out, json.loads((out / "results.json").read_text())


def test_stand_in_results(stand_in):
    out, saved = stand_in
    assert saved["data"]["stand_in"] is True and "STAND-IN" in (out / "results.md").read_text()
    assert set(saved["metrics"]) == MODELS
    for scores in saved["metrics"].values():
        for k in ("top1", "top5"):
            estimate, low, high = scores[k]
            assert 0 <= low <= estimate <= high <= 1
    throughput = saved["throughput"]
    assert throughput["decode_frames_per_s"] > 0 and throughput["decode_over_inference"] > 0
    assert saved["encoding"]["train"]["frames"] > 0
    assert "random weights" in (out / "results.md").read_text()


def test_majority_class_is_the_training_lists(stand_in):
    out, saved = stand_in
    (root,) = (out / "data").iterdir()  # the generated clips, named by their settings
    train, test = UCF101(root, fold="train"), UCF101(root, fold="test")
    majority = np.bincount(train.labels).argmax()
    expected = np.mean(np.array(test.labels) == majority)
    assert saved["metrics"]["majority class"]["top1"][0] == pytest.approx(expected)


def test_a_second_run_reuses_clips_and_features(stand_in):
    out, first = stand_in
    BENCHMARKS["ucf101"].run(out, VideoOptions(quick=True, seed=1, device="cpu"))
    again = json.loads((out / "results.json").read_text())
    assert again["encoding"]["train"]["videos"] == 0 and again["encoding"]["test"]["videos"] == 0
    assert first["encoding"]["train"]["videos"] > 0
    assert again["metrics"]["majority class"] == first["metrics"]["majority class"]


def test_real_clips_from_root(tmp_path):
    BENCHMARKS["ucf101"].run(tmp_path, VideoOptions(root=UCF_MINI, quick=True, device="cpu"))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["data"]["stand_in"] is False and saved["published"]
    assert saved["metrics"]["majority class"]["top1"][0] == pytest.approx(2 / 4)  # Stretch
