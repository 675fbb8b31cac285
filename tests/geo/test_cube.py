"""Cubes saved to zarr and netCDF and opened again, lazily and intact."""

import numpy as np
import pytest

from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.geo import open_cube, read_stack, save_cube


@pytest.mark.parametrize("suffix", [".zarr", ".nc"])
def test_round_trip_keeps_values_coords_and_georeferencing(series, tmp_path, suffix):
    cube = read_stack(series)
    path = save_cube(cube, tmp_path / f"cube{suffix}")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left over
    again = open_cube(path)
    assert again.chunks[0] == (1,) * cube.sizes["time"]  # lazy, one frame per chunk
    np.testing.assert_array_equal(again.values, cube.values)
    np.testing.assert_array_equal(again.time.values, cube.time.values)
    assert again.band.values.tolist() == cube.band.values.tolist()
    assert again.attrs["crs"] == cube.attrs["crs"]
    assert list(again.attrs["transform"]) == cube.attrs["transform"]
    save_cube(cube.isel(time=slice(0, 2)), path)  # overwrites in place
    assert open_cube(path).sizes["time"] == 2


def test_bad_paths(tmp_path):
    with pytest.raises(DataError, match=r"cube\.tif: unknown cube format '\.tif'"):
        open_cube(tmp_path / "cube.tif")
    with pytest.raises(DatasetNotFoundError, match=r"missing\.zarr does not exist"):
        open_cube(tmp_path / "missing.zarr")
    (tmp_path / "broken.nc").write_text("not netCDF")
    with pytest.raises(DataError, match=r"broken\.nc: cannot be opened"):
        open_cube(tmp_path / "broken.nc")
