"""The synthetic series: reproducible, advecting, with a nodata border and mixed CRSs."""

import hashlib

import numpy as np
import rasterio

from seqimaging.geo import read_fmi_radar
from seqimaging.geo.synthetic import NODATA, cloud_fields, make_cloud_series, make_radar_events


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    def digest(folder):
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())]

    a = make_cloud_series(tmp_path / "a", n_frames=3, seed=5, size=16)
    b = make_cloud_series(tmp_path / "b", n_frames=3, seed=5, size=16)
    c = make_cloud_series(tmp_path / "c", n_frames=3, seed=6, size=16)
    assert digest(a) == digest(b) != digest(c)


def test_files_dates_crs_and_border(series):
    files = sorted(series.iterdir())
    assert [p.name for p in files[:2]] == ["cloud_20240601T0000.tif", "cloud_20240601T0100.tif"]
    crs = []
    for path in files:
        with rasterio.open(path) as src:
            crs.append(src.crs.to_epsg())
            assert src.descriptions == ("reflectance", "rain") and src.scales == (1e-4, 0.01)
            assert src.nodata == NODATA
            if src.crs.to_epsg() == 32632:
                data = src.read()
                assert (data[:, :2] == NODATA).all() and (data[:, 2:-2, 2:-2] != NODATA).all()
    assert crs == [32632] * 4 + [3035] + [32632] * 3


def test_clouds_drift_with_the_wind_and_grow_and_decay():
    series = cloud_fields(30, seed=2, size=64)
    cloud = (series.reflectance - series.surface) / (0.85 - series.surface)  # the cloud cover
    step = np.diff(cloud, axis=0)
    assert np.abs(step).mean() > 1e-3  # frames change
    # the shift that best maps frame t onto frame t+1 is the wind (rounded to pixels)
    dx, dy = np.round(series.wind).astype(int)
    shifted = np.roll(cloud[:-1], (dy, dx), axis=(1, 2))[:, 8:-8, 8:-8]
    still = cloud[:-1, 8:-8, 8:-8]
    after = cloud[1:, 8:-8, 8:-8]
    assert np.abs(after - shifted).mean() < np.abs(after - still).mean()
    assert series.rain.max() > 1 and (series.rain >= 0).all()
    coverage = (series.reflectance > series.surface + 0.2).mean(axis=(1, 2))
    assert coverage.max() > coverage.min()  # clouds come, grow and go


def test_radar_events_read_back_as_their_rain_within_the_coding_step(tmp_path):
    root = make_radar_events(tmp_path, ("20160928",), n_frames=3, seed=4, size=24)
    rain = read_fmi_radar(root / "20160928").values[:, 0]
    truth = cloud_fields(3, 4, size=24).rain
    valid = np.isfinite(rain)
    assert not valid[:, :2].any() and valid[:, 2:-2, 2:-2].all()  # the nodata border
    wet = truth[valid] > 0.05
    # half a dBZ code step is 0.25 dB: a rain rate within 10 ** (0.25 / 16) - 1 = 3.7 %
    np.testing.assert_allclose(rain[valid][wet], truth[valid][wet], rtol=0.037)
    assert (rain[valid][truth[valid] == 0] == 0).all()
