"""``seqimaging classify``: a fitted classifier on tiny ACDC-like phantoms."""

import csv
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch

from seqimaging.cli import main
from seqimaging.data import SequenceDataModule
from seqimaging.errors import SeqImagingError
from seqimaging.inference.checkpoint import trained_task
from seqimaging.inference.classify import classify
from seqimaging.medical import ACDC, CineDataset, CineRecord, CineSampling
from seqimaging.medical.phantoms import make_acdc_like
from seqimaging.sample import collate
from seqimaging.tasks import ClassificationTask, ForecastTask
from seqimaging.tasks.checkpoints import load_checkpoint

TINY = {"stride": 4, "width": 8, "hidden_channels": 8}
SAMPLING = CineSampling(slices=1, frames=4, size=16)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, quiet):
    """A checkpoint fit one epoch on 5 phantom patients, and a folder of their cines."""
    root = make_acdc_like(tmp_path_factory.mktemp("acdc"), n_per_class=1, seed=0)
    data = ACDC(root, "training", SAMPLING)
    task = ClassificationTask(in_channels=1, num_classes=5, model_kwargs=TINY)
    trainer = L.Trainer(**quiet, limit_val_batches=0, default_root_dir=root)
    dm = SequenceDataModule(data, batch_size=2, val_fraction=0.0, test_fraction=0.0)
    trainer.fit(task, datamodule=dm)
    ckpt = root / "model.ckpt"
    trainer.save_checkpoint(ckpt)
    return ckpt, root / "training"


def test_checkpoint_records_class_names_and_sampling(fitted):
    checkpoint = load_checkpoint(fitted[0])
    assert checkpoint["hyper_parameters"]["class_names"] == list(ACDC.class_names)
    assert checkpoint["data"]["sampling"]["frames"] == 4
    assert checkpoint["data"]["sampling"]["slices"] == 1


def test_classify_a_folder_writes_probabilities_and_argmax(fitted, tmp_path):
    ckpt, folder = fitted
    out = classify(ckpt, folder, tmp_path / "preds.csv", batch_size=2)
    with open(out, newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["id", "predicted", *(f"p_{c}" for c in ACDC.class_names)]
    assert [r["id"] for r in rows] == [f"patient{i:03d}/patient{i:03d}_4d" for i in range(1, 6)]
    task, _ = trained_task(ckpt, ClassificationTask)
    cines = sorted(folder.rglob("*_4d.nii.gz"))
    data = CineDataset([CineRecord(id=p.name, path=p) for p in cines], SAMPLING)
    for row, i in zip(rows, range(len(data)), strict=True):
        p = [float(row[f"p_{c}"]) for c in ACDC.class_names]
        assert sum(p) == pytest.approx(1.0, abs=1e-4)
        with torch.no_grad():
            logits = task(collate([data[i]]))
        assert row["predicted"] == ACDC.class_names[int(logits.argmax())]


def test_classify_command_refuses_an_existing_out(fitted, tmp_path, capsys):
    ckpt, folder = fitted
    out = tmp_path / "preds.csv"
    out.write_text("earlier run\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", "--ckpt_path", str(ckpt), "--input", str(folder), "--out", str(out)])
    assert exit_info.value.code == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text() == "earlier run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.csv"]


def test_classify_a_table_without_labels(fitted, tmp_path):
    ckpt, folder = fitted
    for cine in sorted(folder.rglob("*_4d.nii.gz"))[:2]:
        shutil.copy(cine, tmp_path / cine.name)
    (tmp_path / "cines.csv").write_text("path\npatient001_4d.nii.gz\npatient002_4d.nii.gz\n")
    out = classify(ckpt, tmp_path / "cines.csv", tmp_path / "preds.csv")
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[1].startswith("patient001_4d.nii.gz,")


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # Sunnybrook's UIDs
def test_classify_a_dicom_series_through_a_table(fitted, tmp_path):
    ckpt, _ = fitted
    series = Path(__file__).parents[1] / "data" / "sunnybrook" / "dicom" / "SCD0000101"
    (tmp_path / "cines.csv").write_text(f"path\n{series}\n")
    out = classify(ckpt, tmp_path / "cines.csv", tmp_path / "preds.csv")
    with open(out, newline="") as file:
        (row,) = list(csv.DictReader(file))
    task, _ = trained_task(ckpt, ClassificationTask)
    with torch.no_grad():
        sample = CineDataset([CineRecord(id="s", path=series)], SAMPLING)[0]
        expected = task(collate([sample])).softmax(-1)[0]
    got = [float(row[f"p_{c}"]) for c in ACDC.class_names]
    assert got == pytest.approx(expected.tolist(), abs=1e-5)


def test_channel_mismatch_names_the_file_and_channels(fitted, tmp_path):
    ckpt, folder = fitted
    with pytest.raises(SeqImagingError, match=r"patient001_4d.nii.gz.*in_channels=1"):
        classify(ckpt, folder, tmp_path / "preds.csv", sampling={"slices": 2})
    assert not (tmp_path / "preds.csv").exists()


def test_a_forecaster_checkpoint_is_refused(fitted, tmp_path):
    task = ForecastTask(horizon=2)
    hparams = dict(task.hparams) | {"_class_path": "seqimaging.tasks.ForecastTask"}
    torch.save({"state_dict": task.state_dict(), "hyper_parameters": hparams}, tmp_path / "f.ckpt")
    with pytest.raises(
        SeqImagingError, match="holds a ForecastTask; expected a ClassificationTask"
    ):
        classify(tmp_path / "f.ckpt", fitted[1], tmp_path / "preds.csv")
    assert not (tmp_path / "preds.csv").exists()
