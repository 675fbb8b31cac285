"""Forecast scores per case and lead time, pooled over cases with bootstrap 95% CIs.

A *case* is one forecast (a start time, a patient's slice): the unit the bootstrap
resamples. Errors are pooled over valid pixels (MAE = Σ|e| / Σn, RMSE = √(Σe² / Σn));
CSI at a threshold is hits / (hits + misses + false alarms) over the pooled counts, as
verification of precipitation nowcasts does (``pysteps.verification.det_cat_fct``); SSIM
is torchmetrics' (Gaussian 11×11 window) averaged over each frame's valid pixels, then
over cases.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchmetrics.functional.image import structural_similarity_index_measure

from seqimaging.evaluation import bootstrap_cases


@dataclass
class CaseScores:
    """Sums per case and lead ``[cases, leads]``; ``contingency`` adds ``[thresholds, 3]``
    (hits, misses, false alarms)."""

    abs_error: np.ndarray
    squared_error: np.ndarray
    count: np.ndarray
    ssim: np.ndarray
    contingency: np.ndarray
    thresholds: tuple[float, ...]

    @classmethod
    def concat(cls, parts: Sequence["CaseScores"]) -> "CaseScores":
        """The cases of several parts (batches) together."""
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls._arrays()),
            thresholds=parts[0].thresholds,
        )

    @staticmethod
    def _arrays() -> tuple[str, ...]:
        return ("abs_error", "squared_error", "count", "ssim", "contingency")

    def __len__(self) -> int:
        return len(self.count)


def case_scores(
    forecast: torch.Tensor,
    truth: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    thresholds: Sequence[float] = (),
    data_range: float = 1.0,
) -> CaseScores:
    """Scores of forecasts ``[B, K, C, H, W]`` against the truth, over ``mask``'s pixels.

    Args:
        forecast: forecasts of ``B`` cases, ``K`` lead times.
        truth: the observed frames, same shape; values outside ``mask`` are ignored.
        mask: valid pixels, broadcastable to ``truth`` (all valid by default).
        thresholds: event thresholds for the contingency counts (value ≥ threshold).
        data_range: value range for SSIM's constants.
    """
    forecast, truth = forecast.detach().double().cpu(), truth.detach().double().cpu()
    valid = (
        torch.ones_like(truth, dtype=torch.bool)
        if mask is None
        else mask.cpu().bool().expand_as(truth)
    )
    dims = (2, 3, 4)
    error = torch.where(valid, forecast - truth, 0.0)
    counts = []
    for threshold in thresholds:
        predicted, observed = (forecast >= threshold) & valid, (truth >= threshold) & valid
        counts.append(
            torch.stack(
                [
                    (predicted & observed).sum(dims),
                    (~predicted & observed).sum(dims),
                    (predicted & ~observed).sum(dims),
                ],
                dim=-1,
            )
        )
    batch, leads = truth.shape[:2]
    contingency = torch.stack(counts, dim=2) if counts else torch.zeros(batch, leads, 0, 3)
    return CaseScores(
        abs_error=error.abs().sum(dims).numpy(),
        squared_error=(error**2).sum(dims).numpy(),
        count=valid.sum(dims).numpy().astype(np.float64),
        ssim=_masked_ssim(forecast, truth, valid, data_range),
        contingency=contingency.numpy().astype(np.float64),
        thresholds=tuple(float(t) for t in thresholds),
    )


def _masked_ssim(
    forecast: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor, data_range: float
) -> np.ndarray:
    """SSIM map averaged over valid pixels; invalid pixels take the true value first.

    In float32: double-precision convolutions are several times slower.
    """
    batch, leads = truth.shape[:2]
    flat = lambda x: x.reshape(batch * leads, *x.shape[2:]).float()  # noqa: E731
    filled = torch.where(valid, forecast, truth)
    _, image = structural_similarity_index_measure(
        flat(filled), flat(truth), data_range=data_range, return_full_image=True
    )
    weight = flat(valid)
    ssim = (image.double() * weight).sum((1, 2, 3)) / weight.sum((1, 2, 3)).clamp_min(1)
    return ssim.reshape(batch, leads).numpy()


def summarise(scores: CaseScores, *, n_boot: int = 2000, seed: int = 0) -> dict[str, list]:
    """Per metric, a ``[estimate, low, high]`` per lead time (bootstrap over cases).

    Keys: ``mae``, ``rmse``, ``ssim`` and ``csi@<threshold>`` for each threshold.
    """

    def per_lead(statistic) -> list[list[float]]:
        leads = scores.count.shape[1]
        return [
            list(
                bootstrap_cases(
                    lambda i, k=k: statistic(i, k), len(scores), n_boot=n_boot, seed=seed
                )
            )
            for k in range(leads)
        ]

    def pooled(numerator: np.ndarray, i: np.ndarray, k: int) -> float:
        return numerator[i, k].sum() / max(scores.count[i, k].sum(), 1.0)

    result = {
        "mae": per_lead(lambda i, k: pooled(scores.abs_error, i, k)),
        "rmse": per_lead(lambda i, k: np.sqrt(pooled(scores.squared_error, i, k))),
        "ssim": per_lead(lambda i, k: scores.ssim[i, k].mean()),
    }
    for j, threshold in enumerate(scores.thresholds):

        def csi(i: np.ndarray, k: int, j: int = j) -> float:
            hits, misses, false_alarms = scores.contingency[i, k, j].sum(0)
            total = hits + misses + false_alarms
            return hits / total if total else float("nan")

        result[f"csi@{threshold:g}"] = per_lead(csi)
    return result
