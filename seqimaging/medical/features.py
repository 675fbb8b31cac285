"""Hand-crafted cardiac features from the ground-truth masks at ED and ES, and a classifier.

The classical baseline of the best ACDC challenge entries (Wolterink et al. 2017, Isensee
et al. 2017, Khened et al. 2018): volumes, ejection fractions and ratios of the LV, RV and
myocardium, and the myocardial wall thickness and its systolic thickening in angular
segments of each short-axis slice, fed to a small scikit-learn model.

Example:
    >>> from seqimaging.medical import ACDC
    >>> data = ACDC("ACDC/database", "training")  # doctest: +SKIP
    >>> X = feature_matrix([ACDC.masks(r) for r in data.records])  # doctest: +SKIP
    >>> model = feature_classifier(seed=0).fit(X, data.labels)  # doctest: +SKIP
"""

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from seqimaging.errors import DataError
from seqimaging.medical.volumes import LABELS, PhaseMasks

LV, MYO, RV = (LABELS.index(name) for name in ("LV", "MYO", "RV"))
RAYS = 360
"""Rays per slice, one a degree, from the LV cavity's centroid."""
SEGMENTS = 6
"""Angular segments per slice (60° each, as the AHA basal and mid-ventricular ones; they
start at the image's +x axis, not at the RV insertion, which the summaries do not need)."""
MIN_RAYS = 0.5
"""Fraction of a segment's rays that must cross the wall for the segment to count."""

FEATURE_NAMES = (
    "lv_edv_ml",
    "lv_esv_ml",
    "lv_ef_percent",
    "rv_edv_ml",
    "rv_esv_ml",
    "rv_ef_percent",
    "myo_ed_ml",
    "myo_es_ml",
    "rv_lv_edv_ratio",
    "myo_lv_edv_ratio",
    "thickness_ed_mean_mm",
    "thickness_ed_max_mm",
    "thickness_ed_std_mm",
    "thickness_es_mean_mm",
    "thickness_es_max_mm",
    "thickness_es_std_mm",
    "thickening_min",
    "thickening_mean",
    "thickening_std",
)
"""The features of :func:`cardiac_features`, in the columns' order of :func:`feature_matrix`.

Volumes are in ml, ejection fractions in %, thickness in mm over the (slice, segment)
pairs of a phase, thickening ``(ES − ED) / ED`` per pair present in both phases."""


def cardiac_features(masks: PhaseMasks) -> dict[str, float]:
    """The :data:`FEATURE_NAMES` of one patient's masks at ED and ES.

    Wall thickness is measured along :data:`RAYS` rays from the LV cavity's centroid on
    each slice holding both LV and myocardium (others are skipped): from where a ray
    leaves the cavity into the myocardium to where it leaves the myocardium (a ray that
    leaves the cavity elsewhere, through a gap in the wall, does not count). Each
    segment's thickness is the mean over its rays, in mm from the pixel spacing.

    Every feature is a finite number: masks from which one would be undefined raise.

    Raises:
        DataError: ED and ES masks of different shapes or not 3-D; LV cavity, myocardium
            or RV cavity empty at ED or ES; or no segment whose wall thickness can be
            measured at both ED and ES. The message names ``masks.source``.
    """
    ed, es = np.asarray(masks.ed), np.asarray(masks.es)
    _check(ed, es, masks.source)
    voxel_ml = float(np.prod(masks.spacing)) / 1000
    volume = {
        (name, phase): np.count_nonzero(labels == label) * voxel_ml
        for name, label in (("lv", LV), ("myo", MYO), ("rv", RV))
        for phase, labels in (("ed", ed), ("es", es))
    }
    thick_ed, thick_es = (segment_thickness(labels, masks.spacing[1:]) for labels in (ed, es))
    both = ~np.isnan(thick_ed) & ~np.isnan(thick_es)
    if not both.any():
        raise DataError(
            f"{masks.source}: no slice segment where the LV wall thickness can be measured at "
            f"both ED and ES; expected LV cavities surrounded by myocardium on common slices"
        )
    thickening = (thick_es[both] - thick_ed[both]) / thick_ed[both]
    features = {
        "lv_edv_ml": volume["lv", "ed"],
        "lv_esv_ml": volume["lv", "es"],
        "lv_ef_percent": 100 * (1 - volume["lv", "es"] / volume["lv", "ed"]),
        "rv_edv_ml": volume["rv", "ed"],
        "rv_esv_ml": volume["rv", "es"],
        "rv_ef_percent": 100 * (1 - volume["rv", "es"] / volume["rv", "ed"]),
        "myo_ed_ml": volume["myo", "ed"],
        "myo_es_ml": volume["myo", "es"],
        "rv_lv_edv_ratio": volume["rv", "ed"] / volume["lv", "ed"],
        "myo_lv_edv_ratio": volume["myo", "ed"] / volume["lv", "ed"],
        **_summary("thickness_ed", thick_ed, ("mean", "max", "std"), "_mm"),
        **_summary("thickness_es", thick_es, ("mean", "max", "std"), "_mm"),
        **_summary("thickening", thickening, ("min", "mean", "std")),
    }
    return {name: float(features[name]) for name in FEATURE_NAMES}


def feature_matrix(masks: Sequence[PhaseMasks]) -> np.ndarray:
    """:func:`cardiac_features` of each patient, ``[patients, len(FEATURE_NAMES)]`` float64."""
    rows = [list(cardiac_features(m).values()) for m in masks]
    return np.array(rows, np.float64).reshape(len(rows), len(FEATURE_NAMES))


def segment_thickness(labels: np.ndarray, pixel_spacing: Sequence[float]) -> np.ndarray:
    """Myocardial wall thickness (mm) of each slice and angular segment.

    Args:
        labels: a label volume ``(z, y, x)`` in :data:`~seqimaging.medical.volumes.LABELS`.
        pixel_spacing: pixel size ``(y, x)`` in mm.

    Returns:
        ``[z, SEGMENTS]``, NaN for slices without both LV and myocardium and for segments
        with fewer than :data:`MIN_RAYS` of their rays crossing the wall.
    """
    dy, dx = (float(s) for s in pixel_spacing)
    out = np.full((labels.shape[0], SEGMENTS), np.nan)
    lv, myo = labels == LV, labels == MYO
    slices = np.flatnonzero(lv.any(axis=(1, 2)) & myo.any(axis=(1, 2)))
    if slices.size == 0:
        return out
    centre = np.array([np.argwhere(lv[z]).mean(axis=0) * (dy, dx) for z in slices])  # mm
    heart = np.argwhere(lv[slices] | myo[slices])  # (slice, row, column) of each voxel
    offset = heart[:, 1:] * (dy, dx) - centre[heart[:, 0]]
    reach = np.hypot(*offset.T).max() + 2 * max(dy, dx)  # past the wall on every ray
    step = min(dy, dx) / 4
    radii = np.arange(0, reach, step)
    angles = 2 * np.pi * (np.arange(RAYS) + 0.5) / RAYS
    y = centre[:, 0, None, None] + np.sin(angles)[:, None] * radii  # [slice, ray, sample] mm
    x = centre[:, 1, None, None] + np.cos(angles)[:, None] * radii
    row, col = np.rint(y / dy).astype(int), np.rint(x / dx).astype(int)
    n_y, n_x = labels.shape[1:]
    inside = (row >= 0) & (row < n_y) & (col >= 0) & (col < n_x)
    picked = labels[slices[:, None, None], row.clip(0, n_y - 1), col.clip(0, n_x - 1)]
    samples = np.where(inside, picked, 0)  # nearest pixel, background beyond the image
    out[slices] = _segments(_ray_thickness(samples) * step)
    return out


def _ray_thickness(samples: np.ndarray) -> np.ndarray:
    """Samples of the myocardium past the cavity along each ray (last axis of ``samples``),
    NaN where a ray leaves the cavity into anything but myocardium."""
    index = np.arange(samples.shape[-1])
    first = np.argmax(samples != LV, axis=-1)[..., None]  # where the ray leaves the cavity
    entered = np.take_along_axis(samples, first, axis=-1)[..., 0] == MYO
    end = np.argmax((samples != MYO) & (index > first), axis=-1)  # where it leaves the wall
    return np.where(entered, end - first[..., 0], np.nan)


def _segments(rays: np.ndarray) -> np.ndarray:
    """Mean of ``rays`` ``[slice, RAYS]`` over each segment's rays, ``[slice, SEGMENTS]``;
    NaN where fewer than :data:`MIN_RAYS` of them are numbers."""
    grouped = rays.reshape(rays.shape[0], SEGMENTS, RAYS // SEGMENTS)
    counted = ~np.isnan(grouped)
    total = np.where(counted, grouped, 0).sum(axis=-1)
    count = counted.sum(axis=-1)
    return np.where(count >= MIN_RAYS * grouped.shape[-1], total / np.maximum(count, 1), np.nan)


def _summary(prefix: str, values: np.ndarray, stats: Sequence[str], unit: str = "") -> dict:
    """``{prefix_stat_unit: stat(values)}`` over the numbers in ``values``."""
    numbers = values[~np.isnan(values)]
    return {f"{prefix}_{stat}{unit}": getattr(np, stat)(numbers) for stat in stats}


def _check(ed: np.ndarray, es: np.ndarray, source: str) -> None:
    """Raise :class:`DataError` for masks some feature would be undefined on."""
    if ed.shape != es.shape or ed.ndim != 3:
        raise DataError(
            f"{source}: masks of shapes {ed.shape} (ED) and {es.shape} (ES); expected two "
            f"label volumes (z, y, x) of one shape"
        )
    for phase, labels in (("ED", ed), ("ES", es)):
        present = set(np.unique(labels).tolist())
        missing = [LABELS[label] for label in (LV, MYO, RV) if label not in present]
        if missing:
            raise DataError(
                f"{source}: no {', '.join(missing)} voxels at {phase}; expected LV cavity, "
                f"myocardium and RV cavity at ED and ES (labels {LABELS})"
            )


def feature_classifier(seed: int = 0, folds: int = 5) -> GridSearchCV:
    """A classifier of :func:`feature_matrix` rows, its settings chosen on its training data.

    A :class:`~sklearn.pipeline.Pipeline` of a :class:`~sklearn.preprocessing.StandardScaler`
    and either a multinomial logistic regression (``C`` of 0.1, 1 or 10) or a random forest
    of 200 trees, whichever has the best mean balanced accuracy on ``folds`` stratified folds
    of the data given to ``fit`` (the regression on a tie), then refit on all of it: ``fit`` never
    sees other data. Both suit some 100 patients and 19 features: the forest is what the
    ACDC entries used (Wolterink 2017; in Isensee 2017's ensemble), at home with thresholds
    (a segment that does not thicken) and interactions; the regression has less variance
    where the groups separate almost linearly. Every random choice derives from ``seed``,
    on one thread, so a seed gives one model. ``fit`` wants at least ``folds`` patients per
    class.

    Returns:
        An unfitted :class:`~sklearn.model_selection.GridSearchCV`; after ``fit``,
        ``predict_proba`` gives the probability of each class of ``classes_``, and
        ``best_params_`` the chosen model.
    """
    pipeline = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    grid = [
        {"model": [LogisticRegression(max_iter=5000)], "model__C": [0.1, 1.0, 10.0]},
        {"model": [RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)]},
    ]
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return GridSearchCV(pipeline, grid, scoring="balanced_accuracy", cv=split, n_jobs=1)
