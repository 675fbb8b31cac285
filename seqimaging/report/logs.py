"""Reading what Lightning's CSVLogger wrote."""

from pathlib import Path

import pandas as pd


def epoch_metrics(metrics_csv: str | Path) -> pd.DataFrame:
    """One row per epoch of a CSVLogger ``metrics.csv``: its epoch-level columns.

    Step-level columns (``*_step``) and ``step`` are dropped; each epoch keeps the last
    value logged for every metric (training and validation are logged on separate rows).
    """
    table = pd.read_csv(metrics_csv)
    columns = [c for c in table.columns if c != "step" and not c.endswith("_step")]
    return table[columns].groupby("epoch").last().dropna(axis="columns", how="all")
