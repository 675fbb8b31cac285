"""Forecast scores per case and lead time, with bootstrap 95% CIs over cases.

A *case* is one forecast (a start time, a patient's slice, a test sequence): the unit
the bootstrap resamples. Two conventions:

- **pooled** (:func:`case_scores`, :func:`pooled_scores`), as precipitation
  verification does: errors and event counts summed over cases and valid pixels, then
  divided (MAE = Σ|e| / Σn, RMSE = √(Σe² / Σn); CSI at a threshold is hits / (hits +
  misses + false alarms) over the pooled counts, as ``pysteps.verification.det_cat_fct``;
  the fractions skill score (FSS, Roberts and Lean 2008) at a threshold and a square
  window of ``n`` pixels pools its three sums over cases, as
  ``pysteps.verification.spatialscores.fss_accum`` (pixels outside the mask are no event);
  SSIM is torchmetrics' (Gaussian 11×11 window) averaged over each frame's valid pixels,
  then over cases.
- **per frame** (:func:`frame_scores`, :func:`mean_scores`), as OpenSTL scores Moving
  MNIST: each frame's MSE and MAE summed over its pixels, PSNR and SSIM per frame, then
  averaged over sequences.

**Skill** over a reference forecast (persistence) has one definition per error:
``skill_mse = 1 − Σ squared error / Σ squared error of the reference`` and
``skill_mae = 1 − Σ absolute error / Σ absolute error of the reference``, the sums over
the cases' valid pixels (:func:`skill`); positive is better than the reference.
:class:`seqimaging.tasks.forecasting.SkillScore` computes ``skill_mse`` during training.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from scipy.ndimage import uniform_filter
from torchmetrics.functional.image import structural_similarity_index_measure

from seqimaging.errors import ShapeError
from seqimaging.evaluation.bootstrap import bootstrap_cases, bootstrap_per_lead


@dataclass
class CaseScores:
    """Sums per case and lead ``[cases, leads]``; ``contingency`` adds ``[thresholds, 3]``
    (hits, misses, false alarms), ``fractions`` adds ``[fss, 3]`` (Σ forecast fraction²,
    Σ observed fraction², Σ their product)."""

    abs_error: np.ndarray
    squared_error: np.ndarray
    count: np.ndarray
    ssim: np.ndarray
    contingency: np.ndarray
    fractions: np.ndarray
    thresholds: tuple[float, ...]
    fss: tuple[tuple[float, int], ...] = ()

    @classmethod
    def concat(cls, parts: Sequence["CaseScores"]) -> "CaseScores":
        """The cases of several parts (batches) together."""
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls._arrays()),
            thresholds=parts[0].thresholds,
            fss=parts[0].fss,
        )

    @staticmethod
    def _arrays() -> tuple[str, ...]:
        return ("abs_error", "squared_error", "count", "ssim", "contingency", "fractions")

    def __len__(self) -> int:
        return len(self.count)

    def pooled(self) -> "CaseScores":
        """All cases as one: sums added, SSIM averaged (e.g. a patient's windows)."""
        summed = {f: getattr(self, f).sum(0, keepdims=True) for f in self._arrays()}
        return CaseScores(
            **summed | {"ssim": self.ssim.mean(0, keepdims=True)},
            thresholds=self.thresholds,
            fss=self.fss,
        )


def case_scores(
    forecast: torch.Tensor,
    truth: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    thresholds: Sequence[float] = (),
    fss: Sequence[tuple[float, int]] = (),
    data_range: float = 1.0,
) -> CaseScores:
    """Scores of forecasts ``[B, K, C, H, W]`` against the truth, over ``mask``'s pixels.

    Args:
        forecast: forecasts of ``B`` cases, ``K`` lead times.
        truth: the observed frames, same shape; values outside ``mask`` are ignored.
        mask: valid pixels, broadcastable to ``truth`` (all valid by default).
        thresholds: event thresholds for the contingency counts (value ≥ threshold).
        fss: ``(threshold, window)`` pairs for the fractions skill score, the window a
            side in pixels.
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
        fractions=_fraction_sums(forecast, truth, valid, fss),
        thresholds=tuple(float(t) for t in thresholds),
        fss=tuple((float(t), int(n)) for t, n in fss),
    )


def _fraction_sums(
    forecast: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor, fss: Sequence
) -> np.ndarray:
    """``[B, K, len(fss), 3]``: per frame Σ F², Σ O², Σ F·O of the event fractions in a
    ``window × window`` moving average (zero beyond the edges, as pysteps' ``uniform_filter``)."""
    sums = np.zeros((*truth.shape[:2], len(fss), 3))
    for j, (threshold, window) in enumerate(fss):
        events = [((x >= threshold) & valid).double().numpy() for x in (forecast, truth)]
        f, o = (uniform_filter(e, size=(1, 1, 1, window, window), mode="constant") for e in events)
        axes = (2, 3, 4)
        sums[:, :, j] = np.stack([(f**2).sum(axes), (o**2).sum(axes), (f * o).sum(axes)], -1)
    return sums


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


def pooled_statistics(scores: CaseScores) -> dict[str, Callable[[np.ndarray, int], float]]:
    """Per metric, ``statistic(cases, lead)``: the pooled score of those cases at a lead.

    Keys: ``mae``, ``rmse``, ``ssim``, ``csi@<threshold>`` and ``bias@<threshold>`` (the
    frequency bias, forecast events / observed events, 1 unbiased, below 1 too little
    rain) for each threshold, and ``fss@<threshold>/<window>`` for each FSS pair.
    """

    def pooled(numerator: np.ndarray, i: np.ndarray, k: int) -> float:
        return numerator[i, k].sum() / max(scores.count[i, k].sum(), 1.0)

    def csi(j: int, i: np.ndarray, k: int) -> float:
        hits, misses, false_alarms = scores.contingency[i, k, j].sum(0)
        total = hits + misses + false_alarms
        return hits / total if total else float("nan")

    def bias(j: int, i: np.ndarray, k: int) -> float:
        hits, misses, false_alarms = scores.contingency[i, k, j].sum(0)
        return (hits + false_alarms) / (hits + misses) if hits + misses else float("nan")

    def fss(j: int, i: np.ndarray, k: int) -> float:
        forecast_sq, observed_sq, product = scores.fractions[i, k, j].sum(0)
        total = forecast_sq + observed_sq
        return 1 - (total - 2 * product) / total if total else float("nan")

    return {
        "mae": lambda i, k: pooled(scores.abs_error, i, k),
        "rmse": lambda i, k: np.sqrt(pooled(scores.squared_error, i, k)),
        "ssim": lambda i, k: scores.ssim[i, k].mean(),
        **{f"csi@{t:g}": partial(csi, j) for j, t in enumerate(scores.thresholds)},
        **{f"bias@{t:g}": partial(bias, j) for j, t in enumerate(scores.thresholds)},
        **{f"fss@{t:g}/{n}": partial(fss, j) for j, (t, n) in enumerate(scores.fss)},
    }


def pooled_scores(scores: CaseScores, *, n_boot: int = 2000, seed: int = 0) -> dict[str, list]:
    """Per metric of :func:`pooled_statistics`, a ``[estimate, low, high]`` per lead time
    (bootstrap over cases)."""
    leads = scores.count.shape[1]
    return {
        name: bootstrap_per_lead(statistic, len(scores), leads, n_boot=n_boot, seed=seed)
        for name, statistic in pooled_statistics(scores).items()
    }


def pooled_differences(
    scores: CaseScores, reference: CaseScores, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, list]:
    """Per metric, ``[estimate, low, high]`` per lead of ``scores − reference``, both
    scored on the same cases and resampled together (a paired bootstrap)."""
    if scores.count.shape != reference.count.shape:
        raise ShapeError(
            f"paired scores need the same cases and leads, got {scores.count.shape} and "
            f"{reference.count.shape}"
        )
    ours, theirs = pooled_statistics(scores), pooled_statistics(reference)
    leads = scores.count.shape[1]
    return {
        name: bootstrap_per_lead(
            lambda i, k, a=ours[name], b=theirs[name]: a(i, k) - b(i, k),
            len(scores),
            leads,
            n_boot=n_boot,
            seed=seed,
        )
        for name in ours
    }


def _per_lead_and_overall(statistic, n: int, leads: int, n_boot: int, seed: int) -> dict:
    """``statistic(cases, leads)`` for each lead and over all leads, bootstrapped."""
    overall = bootstrap_cases(lambda i: statistic(i, slice(None)), n, n_boot=n_boot, seed=seed)
    return {
        "per_lead": bootstrap_per_lead(statistic, n, leads, n_boot=n_boot, seed=seed),
        "mean": list(overall),
    }


def skill(
    error: np.ndarray, reference: np.ndarray, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, list]:
    """``1 − Σ error / Σ error of the reference`` for each lead and over all leads.

    ``error`` and ``reference`` are ``[cases, leads]`` sums over each case's valid pixels:
    squared errors give ``skill_mse``, absolute errors ``skill_mae``. Both forecasts are
    resampled with the same cases (a paired bootstrap).
    Returns ``{"per_lead": [[estimate, low, high], ...], "mean": [...]}``.
    """
    return _per_lead_and_overall(
        lambda i, k: 1 - error[i, k].sum() / reference[i, k].sum(),
        len(error),
        error.shape[1],
        n_boot,
        seed,
    )


def frame_scores(forecast: torch.Tensor, truth: torch.Tensor) -> dict[str, np.ndarray]:
    """OpenSTL's per-frame scores of forecasts ``[B, K, C, H, W]`` on [0, 1]: ``[B, K]`` each.

    MSE = Σ (ŷ − y)² and MAE = Σ |ŷ − y| over a frame's C·H·W pixels, of the forecast as
    it is; PSNR (−10·log10 of the frame's mean squared error) and SSIM of the forecast
    clipped to [0, 1]. SSIM is torchmetrics' (Gaussian 11×11 window, σ 1.5,
    ``data_range=1``); OpenSTL calls skimage's ``structural_similarity`` with its defaults
    (7×7 uniform window, data range 2 from the float type), so SSIMs are not strictly
    comparable. Errors are summed in float64; SSIM is computed in float32 (ten times
    faster on a CPU, within 10⁻⁶).
    """
    forecast, truth = forecast.detach().double().cpu(), truth.detach().double().cpu()
    error, clipped = forecast - truth, forecast.clamp(0.0, 1.0)
    frames = (2, 3, 4)
    ssim = structural_similarity_index_measure(
        clipped.flatten(0, 1).float(), truth.flatten(0, 1).float(), data_range=1.0, reduction="none"
    )
    scores = {
        "mse": (error**2).sum(frames),
        "mae": error.abs().sum(frames),
        "ssim": ssim.double().reshape(truth.shape[:2]),
        "psnr": -10 * torch.log10(((clipped - truth) ** 2).mean(frames)),
    }
    return {name: value.numpy() for name, value in scores.items()}


def mean_scores(
    scores: dict[str, np.ndarray], *, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict]:
    """Per metric of :func:`frame_scores`, the mean over cases for each lead and over all
    leads, with bootstrap CIs: ``{metric: {"per_lead": [...], "mean": [...]}}``."""
    return {
        name: _per_lead_and_overall(
            lambda i, k, v=value: v[i, k].mean(), len(value), value.shape[1], n_boot, seed
        )
        for name, value in scores.items()
    }
