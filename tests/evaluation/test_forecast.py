"""Pooled forecast scores against independent references (numpy, pysteps, torchmetrics)."""

import numpy as np
import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from seqimaging.evaluation import CaseScores, case_scores, pooled_scores


@pytest.fixture
def fields():
    generator = torch.Generator().manual_seed(0)
    truth = 8 * torch.rand(5, 3, 1, 24, 20, generator=generator) ** 3
    forecast = truth + torch.randn(truth.shape, generator=generator)
    mask = torch.rand(5, 1, 1, 24, 20, generator=generator) > 0.3
    return forecast, truth, mask.expand_as(truth)


def test_pooled_mae_and_rmse_match_numpy_over_valid_pixels(fields):
    forecast, truth, mask = fields
    summary = pooled_scores(case_scores(forecast, truth, mask), n_boot=50)
    error, valid = (forecast - truth).numpy(), mask.numpy()
    for k in range(3):
        e = error[:, k][valid[:, k]]
        assert summary["mae"][k][0] == pytest.approx(np.abs(e).mean())
        assert summary["rmse"][k][0] == pytest.approx(np.sqrt((e**2).mean()))
        low, high = summary["mae"][k][1:]
        assert low <= summary["mae"][k][0] <= high


def test_csi_and_bias_match_pysteps_categorical_scores(fields):
    det_cat_fct = pytest.importorskip("pysteps.verification.detcatscores").det_cat_fct
    forecast, truth, mask = fields
    summary = pooled_scores(case_scores(forecast, truth, mask, thresholds=(0.5, 2.0)), n_boot=10)
    for threshold in (0.5, 2.0):
        for k in range(3):
            pred = np.where(mask[:, k], forecast[:, k], np.nan)
            obs = np.where(mask[:, k], truth[:, k], np.nan)
            expected = det_cat_fct(pred, obs, threshold, scores=["CSI", "BIAS"])
            assert summary[f"csi@{threshold:g}"][k][0] == pytest.approx(expected["CSI"])
            assert summary[f"bias@{threshold:g}"][k][0] == pytest.approx(expected["BIAS"])


def test_ssim_with_every_pixel_valid_is_torchmetrics_mean(fields):
    forecast, truth, _ = fields
    scores = case_scores(forecast, truth, data_range=8.0)
    for k in range(3):
        expected = structural_similarity_index_measure(
            forecast[:, k].float(), truth[:, k].float(), data_range=8.0, reduction="none"
        )
        np.testing.assert_allclose(scores.ssim[:, k], expected.numpy(), rtol=1e-4)


def test_concatenated_parts_score_like_one_batch(fields):
    forecast, truth, mask = fields
    whole = case_scores(forecast, truth, mask, thresholds=(1.0,))
    parts = CaseScores.concat(
        [
            case_scores(forecast[i : i + 2], truth[i : i + 2], mask[i : i + 2], thresholds=(1.0,))
            for i in range(0, 5, 2)
        ]
    )
    for name in ("abs_error", "squared_error", "count", "ssim", "contingency"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name))
    assert len(parts) == 5


def test_fss_pools_like_pysteps_over_cases_and_masks_out_nodata():
    from pysteps.verification.spatialscores import fss_accum, fss_compute, fss_init

    rng = np.random.default_rng(0)
    forecast, truth = (rng.gamma(0.5, 2, (3, 2, 1, 30, 40)) for _ in range(2))
    mask = np.ones_like(truth, dtype=bool)
    mask[..., :5, :] = False
    for window in (5, 6):
        scores = case_scores(
            torch.tensor(forecast), torch.tensor(truth), torch.tensor(mask), fss=[(1.0, window)]
        )
        ours = pooled_scores(scores, n_boot=10)[f"fss@1/{window}"]
        for k in range(2):
            reference = fss_init(1.0, window)
            for b in range(3):
                outside = ~mask[b, k, 0]
                fss_accum(
                    reference,
                    np.where(outside, np.nan, forecast[b, k, 0]),
                    np.where(outside, np.nan, truth[b, k, 0]),
                )
            assert ours[k][0] == pytest.approx(fss_compute(reference), abs=1e-12)


def test_paired_differences_are_the_difference_of_the_estimates():
    from seqimaging.errors import ShapeError
    from seqimaging.evaluation.forecast import pooled_differences

    rng = np.random.default_rng(1)
    truth = torch.tensor(rng.gamma(0.5, 2, (20, 3, 1, 8, 8)))
    good = case_scores(truth + 0.1 * torch.tensor(rng.normal(size=truth.shape)), truth)
    bad = case_scores(truth + torch.tensor(rng.normal(size=truth.shape)), truth)
    differences = pooled_differences(good, bad, n_boot=200)
    for k in range(3):
        estimate, low, high = differences["mae"][k]
        expected = (
            pooled_scores(good, n_boot=1)["mae"][k][0] - pooled_scores(bad, n_boot=1)["mae"][k][0]
        )
        assert estimate == pytest.approx(expected)
        assert low <= estimate <= high < 0  # clearly better, paired
    with pytest.raises(ShapeError, match="same cases"):
        pooled_differences(good, case_scores(truth[:5], truth[:5]))
