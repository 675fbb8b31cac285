"""A run's ``report.md`` (text, tables, linked figures) and its ``metrics.json``."""

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from seqimaging.files import write_json
from seqimaging.report.plots import save_figure
from seqimaging.runs import environment


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
