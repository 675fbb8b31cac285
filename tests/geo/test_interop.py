"""torchgeo RasterDataset(time_series=True) and its 0.10 samplers as samples with dates."""

import numpy as np
import pandas as pd
import pytest
import rasterio
from torchgeo.datasets import RasterDataset
from torchgeo.samplers import GriddedPatchSampler, SequentialTimedeltaSampler

from seqimaging.errors import SeqImagingError
from seqimaging.geo import TorchGeoWindows
from seqimaging.geo.synthetic import NODATA, make_cloud_series


class Clouds(RasterDataset):
    filename_glob = "cloud_*.tif"
    filename_regex = r"cloud_(?P<date>\d{8}T\d{4})"
    date_format = "%Y%m%dT%H%M"
    all_bands = ("reflectance", "rain")


def test_samples_carry_the_dates_torchgeo_stacked(tmp_path):
    series = make_cloud_series(tmp_path, n_frames=6, seed=1, size=32, other_crs_frame=None)
    dataset = Clouds(str(series), crs="EPSG:32632", res=(1000, 1000), time_series=True)
    sampler = GriddedPatchSampler(dataset, size=16) @ SequentialTimedeltaSampler(
        dataset, delta=pd.Timedelta(hours=4), stride=pd.Timedelta(hours=2)
    )
    windows = TorchGeoWindows(dataset, sampler, context=3, horizon=1, nodata=NODATA, time_unit="h")
    assert len(windows) > 0 and len(set(windows.groups)) > 1
    files = {p.name[6:19]: p for p in series.iterdir()}
    for i in range(0, len(windows), 3):
        sample = windows[i]
        assert sample["frames"].shape == (3, 2, 16, 16) and sample["future"].shape == (1, 2, 16, 16)
        dates = sample["meta"]["dates"]
        assert dates == sorted(dates) and len(dates) == 4
        hours = [float(h) for h in sample["times"].tolist() + sample["future_times"].tolist()]
        assert hours == [
            (np.datetime64(d) - np.datetime64(dates[0])) / np.timedelta64(1, "h") for d in dates
        ]
        x, y, _ = windows.slices[i]
        for k, date in enumerate(dates[:3]):  # each frame is that date's file at that place
            path = files[date.replace("-", "").replace(":", "")[:13]]
            with rasterio.open(path) as src:
                window = rasterio.windows.from_bounds(
                    x.start, y.start, x.stop, y.stop, src.transform
                )
                raw = src.read(window=window, boundless=True, fill_value=NODATA)
            valid = (raw != NODATA).all(0)
            np.testing.assert_array_equal(sample["mask"][k, 0].numpy(), valid)
            np.testing.assert_array_equal(sample["frames"][k].numpy(), np.where(valid, raw, 0))


def test_a_dataset_without_time_series_is_refused(series):
    dataset = Clouds(str(series), crs="EPSG:32632", res=(1000, 1000))
    with pytest.raises(SeqImagingError, match="time_series=False"):
        TorchGeoWindows(dataset, [], context=2)


def test_the_transform_applies_to_each_sample(tmp_path):
    series = make_cloud_series(tmp_path, n_frames=6, seed=1, size=32, other_crs_frame=None)
    dataset = Clouds(str(series), crs="EPSG:32632", res=(1000, 1000), time_series=True)
    sampler = GriddedPatchSampler(dataset, size=16) @ SequentialTimedeltaSampler(
        dataset, delta=pd.Timedelta(hours=4), stride=pd.Timedelta(hours=2)
    )
    plain = TorchGeoWindows(dataset, sampler, context=3, horizon=1, time_unit="h")
    marked = TorchGeoWindows(
        dataset, sampler, context=3, horizon=1, time_unit="h", transform=lambda s: s | {"x": 1}
    )
    assert "x" not in plain[0] and marked[0]["x"] == 1
    np.testing.assert_array_equal(marked[0]["frames"].numpy(), plain[0]["frames"].numpy())
