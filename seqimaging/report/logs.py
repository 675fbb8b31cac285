"""Reading what Lightning's CSVLogger wrote, and plotting it."""

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from seqimaging.report.plots import curves_figure


def epoch_metrics(metrics_csv: str | Path) -> pd.DataFrame:
    """One row per epoch of a CSVLogger ``metrics.csv``: its epoch-level columns.

    Step-level columns (``*_step``) and ``step`` are dropped; each epoch keeps the last
    value logged for every metric (training and validation are logged on separate rows).
    """
    table = pd.read_csv(metrics_csv)
    columns = [c for c in table.columns if c != "step" and not c.endswith("_step")]
    return table[columns].groupby("epoch").last().dropna(axis="columns", how="all")


def loss_curves_figure(logs: Mapping[str, str | Path], metric: str = "loss") -> Figure | None:
    """Training and validation ``metric`` per epoch of each run ``name → metrics.csv``,
    as lines ``"<name> train"`` and ``"<name> val"``; None where no log has them."""
    curves = {}
    for name, path in logs.items():
        table = epoch_metrics(path)
        for stage, column in (("train", f"train/{metric}_epoch"), ("val", f"val/{metric}")):
            if column in table:
                series = table[column].dropna()
                label = f"{name} {stage}".strip()
                curves[label] = (series.index.to_numpy(), series.to_numpy())
    return curves_figure(curves, xlabel="epoch", ylabel=metric) if curves else None
