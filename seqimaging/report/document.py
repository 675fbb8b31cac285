"""A run's ``report.md`` (text, tables, linked figures) and its ``metrics.json``."""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from seqimaging.files import write_json
from seqimaging.report.plots import save_figure
from seqimaging.runs import environment


def interval(value: Sequence[float], digits: int = 3) -> str:
    """``[estimate, low, high]`` as ``"0.512 (0.48–0.55)"``."""
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


def markdown_table(rows: Sequence[Mapping[str, Any]], digits: int = 3) -> str:
    """A markdown table of dict rows (columns in first-seen order; floats rounded)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "–" if math.isnan(value) else f"{value:.{digits}f}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Build ``report.md`` in ``directory`` block by block; figures are saved beside it.

    Example:
        >>> report = Report("runs/demo", "Demo")  # doctest: +SKIP
        >>> report.table([{"model": "ConvLSTM", "MSE": 0.01}])  # doctest: +SKIP
        >>> report.figure(figure, "confusion.png", "Confusion matrix")  # doctest: +SKIP
        >>> report.write()  # doctest: +SKIP
    """

    def __init__(self, directory: str | Path, title: str) -> None:
        self.directory = Path(directory)
        self.blocks = [f"# {title}"]

    def heading(self, text: str) -> None:
        self.blocks.append(f"## {text}")

    def text(self, markdown: str) -> None:
        self.blocks.append(markdown)

    def table(self, rows: Sequence[Mapping[str, Any]], digits: int = 3) -> None:
        self.blocks.append(markdown_table(rows, digits))

    def figure(self, figure: Figure, name: str, caption: str) -> Path:
        """Save ``figure`` as ``name`` in the report's folder and link it."""
        path = save_figure(figure, self.directory / name)
        self.blocks.append(f"![{caption}]({name})\n\n*{caption}*")
        return path

    def link(self, name: str, caption: str) -> None:
        """Link a file already in the report's folder (a GIF, a checkpoint)."""
        self.blocks.append(
            f"![{caption}]({name})" if name.endswith((".png", ".gif")) else f"[{caption}]({name})"
        )

    def write(
        self, metrics: Mapping[str, Any] | None = None, *, document: str = "report.md"
    ) -> Path:
        """Write ``document`` and, with ``metrics``, ``metrics.json`` with the environment."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if metrics is not None:
            write_json(self.directory / "metrics.json", {**metrics, "environment": environment()})
        path = self.directory / document
        path.write_text("\n\n".join(self.blocks) + "\n")
        return path
