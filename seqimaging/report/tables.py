"""Tables of scores with their confidence intervals, as rows for
:func:`~seqimaging.report.markdown_table`.

Every score is ``[estimate, low, high]`` (see :mod:`seqimaging.evaluation`) and shows as
``"0.512 (0.480–0.550)"``.
"""

from collections.abc import Mapping, Sequence
from typing import Any


def interval(value: Sequence[float], digits: int = 3) -> str:
    """``[estimate, low, high]`` as ``"0.512 (0.480–0.550)"`` (``digits`` decimals)."""
    estimate, low, high = value
    return f"{estimate:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def interval_rows(
    scores: Mapping[str, Mapping[str, Any]],
    columns: Mapping[str, str | tuple[str, int]],
    *,
    key: str = "model",
    digits: int = 3,
) -> list[dict[str, str]]:
    """Table rows of ``[estimate, low, high]`` scores, one per entry (e.g. per model).

    Each row has the entry's name under ``key``, then for each ``header → metric`` of
    ``columns`` the interval ``scores[name][metric]`` (:func:`interval`; "–" where it is
    missing). A column may give its own digits, ``header → (metric, digits)``.

    Example:
        >>> interval_rows({"majority": {"acc": [0.5, 0.4, 0.6]}}, {"accuracy": ("acc", 2)})
        [{'model': 'majority', 'accuracy': '0.50 (0.40–0.60)'}]
    """
    formats = {h: (c, digits) if isinstance(c, str) else c for h, c in columns.items()}

    def cell(value: Sequence[float] | None, places: int) -> str:
        return "–" if value is None else interval(value, places)

    return [
        {key: name} | {h: cell(values.get(m), places) for h, (m, places) in formats.items()}
        for name, values in scores.items()
    ]


def class_rows(scores: Mapping[str, Mapping], classes: Sequence[str]) -> list[dict[str, str]]:
    """Per class, each model's sensitivity and specificity (``diagnosis_scores``)."""
    by_class = {
        name: {
            f"{model} {key[:4]}.": s[key][name]
            for model, s in scores.items()
            for key in ("sensitivity", "specificity")
        }
        for name in classes
    }
    columns = next(iter(by_class.values()))
    return interval_rows(by_class, {c: c for c in columns}, key="class", digits=2)


def agreement_rows(scores: Mapping[str, Mapping]) -> list[dict[str, str]]:
    """Per model, EF agreement with the reference (``ef_scores``): MAE and R² with their
    CIs, the bias and the 95% limits of agreement, in EF points."""
    intervals = interval_rows(scores, {"MAE [EF points]": ("mae", 1), "R²": ("r2", 2)})
    return [
        row
        | {
            "bias [points]": f"{s['bias']:.1f}",
            "95% limits of agreement [points]": "{:.1f} to {:.1f}".format(
                *s["limits_of_agreement"]
            ),
        }
        for row, s in zip(intervals, scores.values(), strict=True)
    ]
