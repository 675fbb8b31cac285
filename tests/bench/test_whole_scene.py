"""The whole-scene benchmark: its generated tile, its counts, and its quick run."""

import json

import numpy as np
import pytest

from seqimaging.bench import BENCHMARKS
from seqimaging.bench.record import BenchOptions

pytest.importorskip("monai")
pytest.importorskip("distributed")


def test_generated_tile_is_lazy_blobs_with_a_no_data_corner(tmp_path):
    from seqimaging.bench.whole_scene import make_tile
    from seqimaging.geo import open_cube

    cube = open_cube(make_tile(tmp_path / "tile.zarr", 160, 3))
    assert cube.shape == (3, 1, 160, 160) and cube.chunks[2] == (160,)
    values = cube.values
    t, y, x = 2, 100, 77
    expected = max(0.0, np.sin((x + 3 * t) / 37.0) * np.cos((y - 2 * t) / 53.0))
    assert values[t, 0, y, x] == pytest.approx(expected, rel=1e-6)
    assert np.isnan(values[:, :, :20, :20]).all() and np.isfinite(values[:, :, 20:, :]).all()


def test_quick_run_forecasts_the_tile_on_both_schedulers(tmp_path):
    result = BENCHMARKS["whole-scene"].run(tmp_path, BenchOptions(quick=True))
    runs = result["runs"]
    assert [r["scheduler"] for r in runs] == ["sync", "LocalCluster 2×1"]
    assert runs[0]["windows"] > 0 and runs[0]["of_batch_rate"] > 0
    assert 0 < runs[0]["model_share"] < 1 and runs[1]["model_share"] is None
    assert all(r["size"] == [512, 512] and r["wall_s"] > 0 for r in runs)
    assert len(runs[1]["worker_peak_rss_mb"]) == 2
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["data"]["stand_in"] is True
