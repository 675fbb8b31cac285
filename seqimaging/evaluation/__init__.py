"""Scoring results as the fields report them, each number with its bootstrap interval.

- :mod:`~seqimaging.evaluation.bootstrap`: percentile-bootstrap CIs over cases
  (patients, start times, sequences) and Bland–Altman limits of agreement;
- :mod:`~seqimaging.evaluation.clinical`: diagnosis scores (accuracy, balanced accuracy,
  macro F1, macro AUROC, sensitivity and specificity per class) and ejection-fraction
  scores (MAE, R², bias, limits of agreement);
- :mod:`~seqimaging.evaluation.forecast`: forecast scores per lead time (MAE, RMSE, CSI,
  SSIM pooled over pixels; OpenSTL's per-frame MSE, MAE, PSNR, SSIM) and the skill over a
  reference, ``skill_mse`` and ``skill_mae``.

The baselines these scores are compared with are in :mod:`seqimaging.models.baselines`.
"""

from seqimaging.evaluation.bootstrap import (
    bootstrap_cases,
    bootstrap_ci,
    bootstrap_per_lead,
    limits_of_agreement,
)
from seqimaging.evaluation.clinical import diagnosis_scores, ef_scores, macro_auroc
from seqimaging.evaluation.forecast import (
    CaseScores,
    case_scores,
    frame_scores,
    mean_scores,
    pooled_scores,
    skill,
)

__all__ = [
    "CaseScores",
    "bootstrap_cases",
    "bootstrap_ci",
    "bootstrap_per_lead",
    "case_scores",
    "diagnosis_scores",
    "ef_scores",
    "frame_scores",
    "limits_of_agreement",
    "macro_auroc",
    "mean_scores",
    "pooled_scores",
    "skill",
]
