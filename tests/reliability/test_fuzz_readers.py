"""The readers' fuzzer (``fuzz_readers.py``), for a few seconds per target."""

import json

import fuzz_readers
import pytest

pytest.importorskip("atheris")


def test_fuzzing_each_reader_briefly_runs_and_finds_no_crash(tmp_path):
    result = fuzz_readers.run(tmp_path, seconds=3)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [row["target"] for row in saved["targets"]] == ["nifti", "dicom", "geotiff"]
    for row in result["targets"]:
        assert row["executions"] > 10 and row["coverage"] > 0, row
        assert row["crashing_inputs"] == 0, row
    assert "| nifti | 3 |" in (tmp_path / "results.md").read_text()
