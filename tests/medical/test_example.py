"""The cardiac cine example runs end to end, shortened, and reports against its baselines."""

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "cardiac_cine_classification.py"


def test_cardiac_cine_example_reports_models_with_cis_and_writes_confusion_pngs(capsys, tmp_path):
    example = runpy.run_path(str(EXAMPLE))
    results = example["main"](n_per_class=2, epochs=1, n_boot=50, out=tmp_path)
    assert set(results) == {"majority class", "ConvLSTM", "static (ED frame)"}
    for value, low, high in results.values():
        assert 0 <= low <= value <= high <= 1
    out = capsys.readouterr().out
    assert all(f"{name:20s} balanced accuracy" in out and "95% CI" in out for name in results)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion_convlstm_classifier.png",
        "confusion_static_classifier.png",
    ]


def test_with_an_acdc_root_the_official_testing_part_is_the_test_set(capsys, tmp_path):
    from seqimaging.medical.phantoms import make_acdc_like

    root = make_acdc_like(tmp_path / "acdc", 2, seed=1, test_per_class=1)
    example = runpy.run_path(str(EXAMPLE))
    example["main"](root, epochs=1, n_boot=20, out=tmp_path / "out")
    assert "10 training and 5 test patients" in capsys.readouterr().out
    (root / "testing").rename(root / "elsewhere")  # training only: 30% of it held out
    example["main"](root, epochs=1, n_boot=20, out=tmp_path / "out")
    assert "6 training and 4 test patients" in capsys.readouterr().out
