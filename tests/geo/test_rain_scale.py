"""Scaled dBR against pysteps' dB transform."""

import numpy as np
import pytest
import torch

from seqimaging.geo.rain_scale import dbr, rain_from_dbr, rain_weight_steps, to_dbr
from seqimaging.tasks.losses import value_weights

RAIN = np.array([0.0, 0.05, 0.1, 0.3, 1.0, 4.2, 30.0, 150.0, np.nan])


def test_dbr_is_pysteps_db_transform():
    transformation = pytest.importorskip("pysteps.utils.transformation")
    metadata = {"transform": None, "zerovalue": 0.0, "threshold": 0.1, "unit": "mm/h"}
    expected, _ = transformation.dB_transform(RAIN.copy(), metadata, threshold=0.1, zerovalue=-15.0)
    np.testing.assert_allclose(dbr(torch.tensor(RAIN)).numpy(), expected, equal_nan=True)


def test_rain_from_dbr_is_pysteps_inverse_and_undoes_to_dbr():
    transformation = pytest.importorskip("pysteps.utils.transformation")
    scaled = to_dbr(torch.tensor(RAIN))
    db = scaled.numpy() * 30 - 15
    expected, _ = transformation.dB_transform(db, threshold=-10.0, inverse=True)
    np.testing.assert_allclose(rain_from_dbr(scaled).numpy(), expected, rtol=1e-9, equal_nan=True)
    rained = RAIN >= 0.1
    np.testing.assert_allclose(rain_from_dbr(scaled).numpy()[rained], RAIN[rained], rtol=1e-9)
    assert to_dbr(torch.tensor(0.0)) == 0 and to_dbr(torch.tensor(1.0)) == 0.5


def test_hko7_weights_on_the_scaled_truth():
    steps = rain_weight_steps([(0.5, 1.0), (2.0, 2.0), (5.0, 5.0), (10.0, 10.0), (30.0, 30.0)])
    rain = torch.tensor([0.0, 0.4, 1.0, 2.5, 7.0, 12.0, 45.0])
    weights = value_weights(to_dbr(rain), steps)
    assert weights.tolist() == [1.0, 1.0, 1.0, 2.0, 5.0, 10.0, 30.0]
