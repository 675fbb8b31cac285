"""Value scales: fitted on the training cube, applied to its windows, recorded, undone."""

import numpy as np
import pytest
import torch
import xarray as xr

from seqimaging.errors import DataError, SeqImagingError
from seqimaging.geo import CubeWindows, ValueScale, min_max_scaled


def rain_cube(seed=0):
    rng = np.random.default_rng(seed)
    values = (rng.gamma(0.5, 4.0, (6, 1, 16, 16))).astype(np.float32)
    values[:, :, :3, :3] = np.nan
    days = np.datetime64("2024-01-01") + np.arange(6) * np.timedelta64(1, "D")
    return xr.DataArray(values, coords={"time": days}, dims=("time", "band", "y", "x"))


def test_min_max_windows_are_the_windows_of_the_min_max_scaled_cube():
    cube = rain_cube()
    scaled = CubeWindows(cube, context=3, horizon=2, patch=8, region=8, scale="min_max")
    reference = CubeWindows(min_max_scaled(cube), context=3, horizon=2, patch=8, region=8)
    assert len(scaled) == len(reference) > 1
    for i in range(len(scaled)):
        for key in ("frames", "future", "mask", "future_mask"):
            torch.testing.assert_close(scaled[i][key], reference[i][key])
    recorded = scaled.data_settings()["scale"]
    assert recorded == {
        "kind": "min_max",
        "low": [pytest.approx(float(np.nanmin(cube.values)))],
        "high": [pytest.approx(float(np.nanmax(cube.values)))],
    }
    part = scaled.split(val_fraction=0.0, test_fraction=0.5)[1]
    assert part.data_settings()["scale"] == recorded  # every part keeps the fitted scale


def test_each_band_is_scaled_by_its_own_range():
    cube = rain_cube()
    two = xr.concat([cube, cube * 10 + 3], dim="band")
    sample = CubeWindows(two, context=3, patch=16, scale="min_max")[0]["frames"]
    torch.testing.assert_close(sample[:, 1], sample[:, 0])
    assert ValueScale.fit("min_max", two).low == pytest.approx(
        (np.nanmin(cube.values), np.nanmin(cube.values) * 10 + 3)
    )


def test_dbr_windows_are_pysteps_db_of_the_rain():
    transformation = pytest.importorskip("pysteps.utils.transformation")
    cube = rain_cube(1)
    sample = CubeWindows(cube, context=3, horizon=1, patch=16, scale="dbr")[0]
    metadata = {"transform": None, "zerovalue": 0.0, "threshold": 0.1, "unit": "mm/h"}
    raw = cube.values[:3].astype(np.float64)
    db, _ = transformation.dB_transform(raw, metadata, threshold=0.1, zerovalue=-15.0)
    expected = np.nan_to_num((db + 15) / 30, nan=0.0)
    np.testing.assert_allclose(sample["frames"].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert not sample["mask"][:, :, :3, :3].any() and sample["mask"][:, :, 3:, 3:].all()


def test_inverse_undoes_each_scale():
    rain = torch.tensor([0.0, 0.05, 0.1, 2.5, 40.0, float("nan")]).view(1, 1, 6)
    linear = ValueScale("min_max", low=-3.0, high=5.0)
    torch.testing.assert_close(linear.inverse(linear(rain)), rain, equal_nan=True)
    assert linear(torch.tensor([[[-3.0, 5.0]]])).flatten().tolist() == [0.0, 1.0]
    dbr = ValueScale("dbr")
    back = dbr.inverse(dbr(rain)).flatten()
    torch.testing.assert_close(back[2:], rain.flatten()[2:], equal_nan=True)
    assert back[:2].tolist() == [0.0, 0.0]  # below 0.1 mm/h: no rain
    identity = ValueScale()
    assert identity(rain) is rain and ValueScale(**identity.settings()) == identity


def test_infinite_pixels_do_not_set_the_range():
    cube = rain_cube()
    spiked = cube.copy(data=cube.values.copy())
    spiked[0, 0, 8, 8] = np.inf
    assert ValueScale.fit("min_max", spiked).high == (float(np.nanmax(cube.values)),)
    with pytest.raises(DataError, match="expected finite numbers"):
        ValueScale("min_max", low=0.0, high=float("inf"))


def test_a_scale_of_other_bands_is_refused():
    scale = ValueScale("min_max", low=(0.0, 1.0, 2.0), high=(1.0, 2.0, 3.0))
    with pytest.raises(DataError, match="has 1 bands; its min_max scale has 3"):
        CubeWindows(rain_cube(), context=3, patch=8, scale=scale)


def test_unknown_or_degenerate_scales_are_refused():
    with pytest.raises(SeqImagingError, match="unknown value scale 'log'; expected one of: dbr"):
        CubeWindows(rain_cube(), context=3, patch=8, scale="log")
    flat = rain_cube().fillna(2.0) * 0 + 2.0
    with pytest.raises(DataError, match=r"band 0 has low=2\.0, high=2\.0; expected high > low"):
        CubeWindows(flat, context=3, patch=8, scale="min_max")
