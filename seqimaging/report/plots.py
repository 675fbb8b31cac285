"""Figures of a run: confusion matrix, training curves, skill by lead time, image strips.

Every function returns a matplotlib ``Figure`` made without pyplot (no backend, no global
state, safe in scripts, servers and notebooks); :func:`save_figure` writes it.
Defaults are colour-blind safe: the ``tableau-colorblind10`` cycle for lines, ``cividis``
for matrices, grey for MRI, and a discrete rain-rate scale with units for radar
(:data:`RAIN_RATE`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib.colors import BoundaryNorm, Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from seqimaging.evaluation import limits_of_agreement

LINE_COLOURS = matplotlib.style.library["tableau-colorblind10"]["axes.prop_cycle"].by_key()["color"]


@dataclass(frozen=True)
class ImageScale:
    """How to colour one kind of image: colour map, normalisation, colour-bar label."""

    cmap: str | Colormap
    norm: Normalize | None = None
    label: str = ""


GREY = ImageScale("gray")
"""MRI and other intensity images, scaled per figure."""

REFLECTANCE = ImageScale("cividis", Normalize(0.0, 1.0), "reflectance")

_RAIN_LEVELS = [0.1, 0.5, 1, 2, 5, 10, 20, 50, 100]
RAIN_RATE = ImageScale(
    matplotlib.colormaps["viridis"].resampled(len(_RAIN_LEVELS) - 1).with_extremes(under="white"),
    BoundaryNorm(_RAIN_LEVELS, len(_RAIN_LEVELS) - 1),
    "rain rate [mm/h]",
)
"""Precipitation: white below 0.1 mm/h, then discrete levels up to 100 mm/h."""


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path``, the format from the suffix; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def confusion_matrix_figure(matrix: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Counts, rows the true class, with each cell's count and its share of the row."""
    matrix = np.asarray(matrix)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.0 + 0.7 * len(class_names)
    figure = Figure(figsize=(size + 1.5, size))
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="cividis", vmin=0, vmax=1)
    for (row, col), count in np.ndenumerate(matrix):
        colour = "black" if shares[row, col] > 0.5 else "white"
        axes.text(
            col,
            row,
            f"{count}\n{shares[row, col]:.0%}",
            ha="center",
            va="center",
            color=colour,
            fontsize=8,
        )
    axes.set(
        xticks=range(len(class_names)),
        yticks=range(len(class_names)),
        xticklabels=class_names,
        yticklabels=class_names,
        xlabel="predicted",
        ylabel="true",
    )
    figure.colorbar(image, ax=axes, label="share of the true class")
    return figure


def curves_figure(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> Figure:
    """Lines ``name → (x, y)`` on one axes: training curves, scores against lead time.

    ``bands`` shades ``name → (low, high)`` around the line of that name (a 95% CI).
    """
    figure = Figure(figsize=(5, 3.2))
    axes = figure.subplots()
    for (name, (x, y)), colour in zip(curves.items(), LINE_COLOURS * 4, strict=False):
        axes.plot(x, y, marker="o", markersize=3, label=name, color=colour)
        if bands and name in bands:
            axes.fill_between(x, *bands[name], color=colour, alpha=0.2, linewidth=0)
    axes.set(xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    axes.legend(frameon=False)
    return figure


def lead_figure(
    scores: Mapping[str, Sequence[Sequence[float]]],
    *,
    ylabel: str,
    leads: Sequence[float] | None = None,
    xlabel: str = "lead time",
) -> Figure:
    """A score against lead time per method, ``name → [[estimate, low, high], ...]`` (one
    per lead), with its 95% CI shaded; leads ``1 … K`` unless given."""
    values = {name: np.asarray(v, dtype=float) for name, v in scores.items()}
    x = np.arange(1, len(next(iter(values.values()))) + 1) if leads is None else np.asarray(leads)
    figure = curves_figure(
        {name: (x, v[:, 0]) for name, v in values.items()},
        xlabel=xlabel,
        ylabel=ylabel,
        bands={name: (v[:, 1], v[:, 2]) for name, v in values.items()},
    )
    figure.axes[0].set_xticks(x)
    return figure


def skill_figure(skill: Sequence[float], *, xlabel: str = "lead time") -> Figure:
    """The skill over persistence against lead time (above 0: better than persistence)."""
    leads = np.arange(1, len(skill) + 1)
    return curves_figure({"model": (leads, skill)}, xlabel=xlabel, ylabel="skill over persistence")


def forecast_strip_figure(
    context: np.ndarray,
    truth: np.ndarray,
    forecast: np.ndarray,
    *,
    scale: ImageScale = GREY,
    column_titles: Sequence[str] | None = None,
) -> Figure:
    """One forecast ``[K, H, W]``: the last ``K`` context frames, the truth, the forecast
    and its error (forecast − truth), one lead time per column."""
    return image_strip_figure(
        {"context": context[-len(truth) :], "truth": truth, "forecast": forecast},
        scale=scale,
        column_titles=column_titles,
        error={"error": forecast - truth},
    )


def image_strip_figure(
    rows: Mapping[str, np.ndarray],
    *,
    scale: ImageScale = GREY,
    column_titles: Sequence[str] | None = None,
    error: Mapping[str, np.ndarray] | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> Figure:
    """Rows of 2-D images ``name → [N, H, W]`` on one colour scale, plus optional error rows.

    ``error`` rows (e.g. forecast − truth) share a diverging ``RdBu_r`` scale
    symmetric about zero. Columns may have titles (lead times, frame numbers). ``box``
    ``(top, left, height, width)`` outlines a region (e.g. where scores are taken) in
    every image.
    """
    error = dict(error or {})
    names = [*rows, *error]
    columns = max(len(v) for v in [*rows.values(), *error.values()])
    figure = Figure(figsize=(1.3 * columns + 1.2, 1.3 * len(names)))
    axes = figure.subplots(len(names), columns, squeeze=False)
    norm = scale.norm
    if norm is None:
        values = np.concatenate([np.ravel(v) for v in rows.values()])
        norm = Normalize(np.nanpercentile(values, 1), np.nanpercentile(values, 99))
    limit = max((np.nanmax(np.abs(v)) for v in error.values()), default=1.0) or 1.0
    images = {}
    for r, name in enumerate(names):
        is_error = name in error
        frames = error[name] if is_error else rows[name]
        for c in range(columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(frames):
                ax.set_visible(False)
                continue
            images[is_error] = ax.imshow(
                frames[c],
                cmap="RdBu_r" if is_error else scale.cmap,
                norm=Normalize(-limit, limit) if is_error else norm,
                interpolation="nearest",
            )
            if box is not None:
                top, left, height, width = box
                corner = (left - 0.5, top - 0.5)
                ax.add_patch(
                    Rectangle(corner, width, height, fill=False, edgecolor="#ffbf00", lw=0.6)
                )
            if r == 0 and column_titles is not None and c < len(column_titles):
                ax.set_title(column_titles[c], fontsize=8)
        axes[r, 0].set_ylabel(name, fontsize=9)
    figure.colorbar(images[False], ax=axes[: len(rows)].ravel().tolist(), label=scale.label)
    if True in images:
        figure.colorbar(images[True], ax=axes[len(rows) :].ravel().tolist(), label="error")
    return figure


def motion_figure(
    frame: np.ndarray,
    motion: np.ndarray,
    *,
    scale: ImageScale = GREY,
    arrows: int = 16,
    unit: str = "unit of time",
    title: str = "",
) -> Figure:
    """A frame ``[H, W]`` under its motion field ``[2, H, W]`` (x then y displacement in
    pixels per ``unit``, as :meth:`~seqimaging.models.MotionForecaster.motion_field`
    gives it): about ``arrows`` arrows per side, each the displacement over a round
    number of ``unit`` (1, 2 or 5 × 10ⁿ, about the arrows' spacing for the fastest
    tenth), drawn to the image's scale; the median speed and that time in the title."""
    height, width = frame.shape
    stride = max(1, max(height, width) // arrows)
    ys, xs = np.mgrid[stride // 2 : height : stride, stride // 2 : width : stride]
    u, v = motion[0][ys, xs], motion[1][ys, xs]
    fast = float(np.percentile(np.hypot(u, v), 90))
    over = _round_down(stride / fast) if fast > 0 else 1.0
    figure = Figure(figsize=(4.2, 4.2 * height / width + 0.4))
    ax = figure.subplots()
    image = ax.imshow(frame, cmap=scale.cmap, norm=scale.norm)
    ax.quiver(xs, ys, u * over, v * over, color="tab:red", angles="xy", scale_units="xy", scale=1)
    speed = float(np.median(np.hypot(motion[0], motion[1])))
    heading = f"{title}: " if title else ""
    ax.set_title(f"{heading}median {speed:.2g} px per {unit}; arrows: {over:g} {unit}", fontsize=9)
    ax.set_axis_off()
    if scale.label:
        figure.colorbar(image, ax=ax, shrink=0.8, label=scale.label)
    return figure


def _round_down(value: float) -> float:
    """The largest of 1, 2, 5 × 10ⁿ not above ``value`` (at least 1e-9)."""
    power = 10.0 ** np.floor(np.log10(max(value, 1e-9)))
    return float(max(m for m in (1, 2, 5) if m * power <= max(value, 1e-9)) * power)


def importance_figure(
    frames: np.ndarray,
    importance: np.ndarray,
    *,
    scale: ImageScale = GREY,
    maps: np.ndarray | None = None,
) -> Figure:
    """A sequence ``[T, H, W]`` above a bar chart of each frame's importance ``[T]``; with
    ``maps`` ``[T, H, W]`` (e.g. :func:`~seqimaging.report.spatial_occlusion`), a row of
    them between, on one symmetric scale (red supports the decision, blue opposes it)."""
    steps, rows = len(frames), 2 if maps is None else 3
    figure = Figure(figsize=(1.2 * steps + 1, 3.2 + 1.3 * (rows - 2)))
    grid = figure.add_gridspec(rows, steps, height_ratios=[1] * (rows - 1) + [0.8])
    norm = scale.norm or Normalize(np.nanpercentile(frames, 1), np.nanpercentile(frames, 99))
    limit = None if maps is None else max(float(np.abs(maps).max()), 1e-12)
    for t in range(steps):
        ax = figure.add_subplot(grid[0, t])
        ax.imshow(frames[t], cmap=scale.cmap, norm=norm)
        ax.set(xticks=[], yticks=[], title=f"t={t}")
        if maps is not None:
            ax = figure.add_subplot(grid[1, t])
            ax.imshow(maps[t], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set(xticks=[], yticks=[])
    bars = figure.add_subplot(grid[rows - 1, :])
    bars.bar(range(steps), importance, color=LINE_COLOURS[0])
    bars.set(xlim=(-0.5, steps - 0.5), xticks=range(steps), xlabel="frame", ylabel="importance")
    bars.axhline(0, color="black", linewidth=0.5)
    return figure


def save_gif(
    panels: Mapping[str, np.ndarray],
    path: str | Path,
    *,
    scale: ImageScale = GREY,
    frame_titles: Sequence[str] | None = None,
    seconds_per_frame: float = 0.5,
) -> Path:
    """An animated GIF of side-by-side panels ``name → [T, H, W]`` (e.g. truth, forecast)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    steps = max(len(v) for v in panels.values())
    norm = scale.norm
    if norm is None:
        values = np.concatenate([np.ravel(v) for v in panels.values()])
        norm = Normalize(np.nanpercentile(values, 1), np.nanpercentile(values, 99))
    images = []
    for t in range(steps):
        figure = Figure(figsize=(2.2 * len(panels), 2.5))
        canvas = FigureCanvasAgg(figure)
        for ax, (name, frames) in zip(
            figure.subplots(1, len(panels)).ravel(), panels.items(), strict=True
        ):
            ax.imshow(frames[min(t, len(frames) - 1)], cmap=scale.cmap, norm=norm)
            ax.set(xticks=[], yticks=[], title=name)
        if frame_titles is not None:
            figure.suptitle(frame_titles[t], fontsize=9)
        canvas.draw()
        images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("P"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        loop=0,
        duration=int(seconds_per_frame * 1000),
    )
    return path


def bland_altman_figure(
    reference: np.ndarray, predictions: Mapping[str, np.ndarray], *, quantity: str = "EF [%]"
) -> Figure:
    """One Bland–Altman panel per model: difference against mean, bias and 95% limits."""
    figure = Figure(figsize=(3.4 * len(predictions), 3.2), layout="constrained")
    axes = figure.subplots(1, len(predictions), sharey=True, squeeze=False)[0]
    for ax, (name, predicted) in zip(axes, predictions.items(), strict=True):
        difference = predicted - reference
        bias, low, high = limits_of_agreement(difference)
        ax.scatter((predicted + reference) / 2, difference, s=10, color=LINE_COLOURS[0])
        for value, style in ((bias, "-"), (low, "--"), (high, "--")):
            ax.axhline(value, color=LINE_COLOURS[1], linestyle=style, linewidth=1)
        ax.set(title=name, xlabel=f"mean of predicted and reference {quantity}")
    axes[0].set_ylabel(f"predicted − reference {quantity}")
    return figure
