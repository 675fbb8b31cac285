import json

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from PIL import Image

from seqimaging.report import (
    RAIN_RATE,
    Report,
    confusion_matrix_figure,
    curves_figure,
    epoch_metrics,
    image_strip_figure,
    importance_figure,
    markdown_table,
    motion_figure,
    save_figure,
    save_gif,
)


def test_confusion_matrix_shows_counts_and_row_shares():
    matrix = np.array([[3, 1], [0, 4]])
    figure = confusion_matrix_figure(matrix, ["a", "b"])
    texts = sorted(t.get_text() for t in figure.axes[0].texts)
    assert texts == sorted(["3\n75%", "1\n25%", "0\n0%", "4\n100%"])
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["a", "b"]


def test_curves_plot_the_given_points():
    figure = curves_figure(
        {"train": ([0, 1, 2], [3.0, 2.0, 1.5]), "val": ([0, 2], [3.5, 2.5])},
        xlabel="epoch",
        ylabel="loss",
    )
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train", "val"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [3.5, 2.5])


def test_image_strip_has_one_panel_per_frame_and_a_symmetric_error_scale():
    rng = np.random.default_rng(0)
    truth, forecast = rng.random((3, 8, 8)), rng.random((3, 8, 8))
    figure = image_strip_figure(
        {"context": truth[:2], "truth": truth, "forecast": forecast},
        error={"error": forecast - truth},
    )
    panels = [ax for ax in figure.axes if ax.images and ax.get_visible()]
    assert len(panels) == 2 + 3 + 3 + 3
    error_norm = panels[-1].images[0].norm
    assert error_norm.vmin == -error_norm.vmax == -np.abs(forecast - truth).max()


@pytest.mark.parametrize(("speed", "over"), [(1.0, 5.0), (0.1, 50.0), (9.0, 0.5)])
def test_motion_figure_draws_the_displacement_over_a_round_time(speed, over):
    motion = np.zeros((2, 32, 48))
    motion[0], motion[1] = 0.6 * speed, -0.8 * speed  # right and up, `speed` px per minute
    figure = motion_figure(np.zeros((32, 48)), motion, arrows=8, unit="min")
    (quiver,) = figure.axes[0].collections
    assert len(quiver.U) == (32 // 6) * (48 // 6)  # one arrow every 48 // 8 = 6 pixels
    np.testing.assert_allclose(quiver.U, 0.6 * speed * over)  # the longest at most 6 px
    np.testing.assert_allclose(quiver.V, -0.8 * speed * over)
    assert quiver.scale == 1 and quiver.scale_units == "xy"
    assert f"median {speed:.2g} px per min; arrows: {over:g} min" in figure.axes[0].get_title()


def test_rain_rate_scale_is_white_below_the_first_level():
    colours = RAIN_RATE.cmap(RAIN_RATE.norm(np.array([0.0, 0.05, 0.7, 7.0])))
    np.testing.assert_array_equal(colours[0], to_rgba("white"))
    np.testing.assert_array_equal(colours[1], to_rgba("white"))
    assert RAIN_RATE.norm(0.7) == 1 and RAIN_RATE.norm(7.0) == 4  # 0.5–1 and 5–10 mm/h bins
    assert RAIN_RATE.label == "rain rate [mm/h]"


def test_save_figure_and_gif_write_files(tmp_path):
    frames = np.random.default_rng(1).random((4, 6, 6))
    png = save_figure(image_strip_figure({"x": frames}), tmp_path / "a" / "strip.png")
    assert Image.open(png).format == "PNG"
    gif = save_gif({"truth": frames, "forecast": frames[::-1]}, tmp_path / "f.gif")
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 4


def test_epoch_metrics_merges_training_and_validation_rows(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text(
        "epoch,step,train/loss_step,train/loss_epoch,val/loss\n"
        "0,9,0.9,,\n0,9,,,0.7\n0,9,,0.8,\n1,19,0.5,,\n1,19,,,0.6\n1,19,,0.55,\n"
    )
    table = epoch_metrics(csv)
    assert list(table.columns) == ["train/loss_epoch", "val/loss"]
    np.testing.assert_allclose(table["train/loss_epoch"], [0.8, 0.55])
    np.testing.assert_allclose(table["val/loss"], [0.7, 0.6])


def test_markdown_table_rounds_and_marks_missing_values():
    table = markdown_table([{"model": "a", "mse": 0.12345}, {"model": "b", "mse": float("nan")}])
    assert table.splitlines() == ["| model | mse |", "|---|---|", "| a | 0.123 |", "| b | – |"]


def test_report_links_figures_and_writes_metrics(tmp_path):
    report = Report(tmp_path / "run", "Run")
    report.heading("Results")
    report.table([{"model": "ConvLSTM", "skill": 0.5}])
    report.figure(curves_figure({"a": ([0], [1])}, xlabel="x", ylabel="y"), "curve.png", "Curve")
    path = report.write(metrics={"skill": 0.5, "seed": 0})
    text = path.read_text()
    assert (
        text.startswith("# Run")
        and "![Curve](curve.png)" in text
        and "| ConvLSTM | 0.500 |" in text
    )
    assert (tmp_path / "run" / "curve.png").is_file()
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["skill"] == 0.5 and "torch" in json.dumps(saved["environment"])
    assert not list((tmp_path / "run").glob("*.tmp"))


@pytest.mark.parametrize("name", ["strip.svg", "strip.pdf"])
def test_format_follows_the_suffix(tmp_path, name):
    path = save_figure(curves_figure({"a": ([0], [1])}, xlabel="x", ylabel="y"), tmp_path / name)
    assert path.read_bytes()[:4] in (b"<?xm", b"%PDF")


def test_loss_curves_of_a_log_without_losses_are_none(tmp_path):
    from seqimaging.report import loss_curves_figure

    log = tmp_path / "metrics.csv"
    log.write_text("epoch,step,test/mse\n0,0,0.5\n")
    assert loss_curves_figure({"": log}) is None
    log.write_text("epoch,step,train/loss_epoch,val/loss\n0,0,0.5,\n0,0,,0.6\n1,1,0.4,\n1,1,,0.5\n")
    assert loss_curves_figure({"model": log}) is not None


def test_importance_figure_with_occlusion_maps_adds_a_row():
    rng = np.random.default_rng(0)
    frames, importance = rng.random((4, 8, 8)), np.array([0.1, -0.2, 0.5, 0.0])
    assert len(importance_figure(frames, importance).axes) == 5
    maps = rng.standard_normal((4, 8, 8))
    figure = importance_figure(frames, importance, maps=maps)
    assert len(figure.axes) == 9
    limits = figure.axes[1].images[0].get_clim()
    assert limits == (-np.abs(maps).max(), np.abs(maps).max())  # one symmetric scale
