import json
from pathlib import Path

import pytest
import torch

from seqimaging.bench import BENCHMARKS
from seqimaging.cli import main


def test_bench_list_names_every_benchmark(capsys):
    main(["bench", "list"])
    out = capsys.readouterr().out
    for name in BENCHMARKS:
        assert name in out


def test_unknown_benchmark_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "no-such-benchmark"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'no-such-benchmark'" in err and "convlstm-speed" in err


CONFIGS = sorted((Path(__file__).parents[1] / "examples" / "configs").glob("*.yaml"))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_task_has_an_example_config():
    assert {c.stem for c in CONFIGS} == {
        "classification",
        "regression",
        "forecast",
        "satellite_forecast",
    }


def make_cloud_cube(path: Path) -> None:
    """The cube ``satellite_forecast.yaml`` reads, made as its header says (fewer frames)."""
    geo = pytest.importorskip("seqimaging.geo")
    from seqimaging.geo.synthetic import make_cloud_series

    series = make_cloud_series(path.parent / "cloud_series", n_frames=12)
    cube = geo.read_stack(series).sel(band=["reflectance"])
    geo.save_cube(cube, path)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.stem)
def test_example_config_runs_fast_dev_run(in_tmp, config):
    if config.stem == "satellite_forecast":
        make_cloud_cube(in_tmp / "runs" / "cloud_cube.zarr")
    main(["fit", "--config", str(config), "--trainer.fast_dev_run=true"])
    checkpoints = list((in_tmp / "runs").rglob("*.ckpt"))
    assert checkpoints, "fit saved no checkpoint"


SMALL = [
    "--trainer.max_epochs=1",
    "--trainer.limit_train_batches=2",
    "--trainer.limit_val_batches=1",
]


def fit_one_epoch(folder: Path) -> tuple[str, Path]:
    """Fit the first example config for a tiny epoch; its config and run folder."""
    config = str(CONFIGS[0])
    main(["fit", "--config", config, *SMALL])
    (run,) = (folder / "runs").iterdir()
    return config, run


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fit_then_test_and_predict_in_the_same_run_folder(in_tmp):
    config, run = fit_one_epoch(in_tmp)
    assert (run / "metrics.csv").is_file() and list(run.glob("events.out.tfevents.*"))
    assert (run / "config.yaml").is_file()
    card = json.loads((run / "model_card.json").read_text())  # the fit's model card
    assert card["metrics"]["split"] == "validation" and card["training"]["steps"] == 2
    assert "## Metrics (validation)" in (run / "model_card.md").read_text()
    main(
        [
            "test",
            "--config",
            config,
            "--ckpt_path",
            str(run / "checkpoints" / "last.ckpt"),
            "--trainer.limit_test_batches=1",
        ]
    )
    assert [p.name for p in (in_tmp / "runs").iterdir()] == [run.name]  # tested in its run
    logged = (run / "metrics.csv").read_text()
    assert "test/balanced_accuracy" in logged and "train/loss_epoch" in logged  # log continued
    report = (run / "report.md").read_text()
    assert "| test/balanced_accuracy |" in report
    assert "(confusion_matrix.png)" in report and "(training_curves.png)" in report
    main(["predict", "--config", config, "--ckpt_path", "last"])
    (written,) = (in_tmp / "runs").rglob("predictions.pt")
    assert written.parent == run
    saved = torch.load(written, weights_only=True)
    assert saved["predictions"].shape == (len(saved["ids"]), 4)  # probabilities of 4 classes
    torch.testing.assert_close(saved["predictions"].sum(1), torch.ones(len(saved["ids"])))
    assert len(set(saved["ids"])) == len(saved["ids"]) and saved["ids"][0].startswith("shapes-")


def test_print_config_shows_resolved_defaults(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS[0]), "--print_config"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "class_path: seqimaging.tasks.ClassificationTask" in out
    assert "use_distributed_sampler: false" in out and "save_last: true" in out


def test_unknown_model_name_is_a_clear_error(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS[0]), "--model.init_args.model=no_such_model"])
    assert exit_info.value.code == 2
    assert "unknown model 'no_such_model'" in capsys.readouterr().err


def test_wrong_type_in_config_is_refused(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS[0]), "--model.init_args.optimizer=rmsprop"])
    assert exit_info.value.code != 0
    assert "optimizer" in capsys.readouterr().err


def test_unknown_key_in_config_is_refused(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(CONFIGS[0]), "--model.init_args.no_such_option=1"])
    assert exit_info.value.code != 0
    assert "no_such_option" in capsys.readouterr().err


def test_a_new_run_never_reuses_an_existing_folder(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from seqimaging.runs import claim_run_folder

    first = claim_run_folder(tmp_path)
    second = claim_run_folder(tmp_path)
    assert first.is_dir() and second.is_dir() and second != first
    with ThreadPoolExecutor(8) as pool:  # all within the same second, as a rule
        claimed = list(pool.map(lambda _: claim_run_folder(tmp_path), range(16)))
    assert len(set(claimed) | {first, second}) == 18


def test_bench_root_that_is_not_a_folder_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["bench", "radar-nowcast", "--root", str(tmp_path / "missing"), "--out", str(tmp_path)]
        )
    assert exit_info.value.code == 2
    assert f"--root {tmp_path / 'missing'} is not a folder" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_best_checkpoint_predict_and_config_kept(in_tmp):
    config, run = fit_one_epoch(in_tmp)
    fitted = (run / "config.yaml").read_bytes()
    (best,) = (run / "checkpoints").glob("best-*.ckpt")
    main(["test", "--config", config, "--ckpt_path", "best", "--trainer.limit_test_batches=1"])
    assert [p.name for p in (in_tmp / "runs").iterdir()] == [run.name]
    assert "test/balanced_accuracy" in (run / "report.md").read_text()
    for _ in range(2):
        main(["predict", "--config", config, "--ckpt_path", "best"])
    assert (run / "config.yaml").read_bytes() == fitted
    assert {"config-test.yaml", "config-predict.yaml", "config-predict-2.yaml"} <= {
        p.name for p in run.iterdir()
    }
    assert (run / "predictions.pt").is_file() and (run / "predictions-2.pt").is_file()
    assert best.is_file()


def test_best_without_runs_is_a_clear_error(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--config", str(CONFIGS[0]), "--ckpt_path", "best"])
    assert exit_info.value.code == 2
    assert "--ckpt_path best: no runs/<run>/checkpoints/best-*.ckpt" in capsys.readouterr().err
