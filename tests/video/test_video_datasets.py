import shutil

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from video_helpers import H264, gradient_frames

from seqimaging.data import SequenceDataModule
from seqimaging.errors import DataError, DatasetNotFoundError
from seqimaging.video import (
    HMDB51,
    UCF101,
    DenseClips,
    FrameIndex,
    Kinetics,
    Segments,
    VideoDataset,
    VideoTable,
    average_clips,
    frame_times,
    read_frames,
    read_video,
    write_video,
)


def test_ucf101_lists_labels_and_groups(ucf_mini):
    train = UCF101(ucf_mini, split=1, fold="train")
    test = UCF101(ucf_mini, split=1, fold="test")
    assert train.class_names == ("Emerge", "Stretch")
    assert [r.id for r in train.records] == [
        "v_Emerge_g02_c01",
        "v_Stretch_g02_c01",
        "v_Stretch_g02_c02",
    ]
    assert train.labels == [0, 1, 1] and test.labels == [0, 0, 1, 1]
    assert set(train.groups) == {"g02"} and set(test.groups) == {"g01"}


def test_ucf101_sample(ucf_mini):
    test = UCF101(ucf_mini, fold="test", sampling=Segments(4), size=(32, 48))
    sample = test[2]
    assert sample["frames"].shape == (4, 3, 32, 48) and sample["frames"].dtype == torch.float32
    assert 0 <= sample["frames"].min() and sample["frames"].max() <= 1
    # 20 frames in 4 segments of 5: the centre frames 2, 7, 12, 17, at 25 fps
    np.testing.assert_allclose(sample["times"].numpy(), [0, 0.2, 0.4, 0.6], atol=1e-6)
    assert sample["label"].item() == 1
    meta = sample["meta"]
    assert meta["id"] == "v_Stretch_g01_c01#0" and meta["video"] == "v_Stretch_g01_c01"
    assert meta["group"] == "g01" and meta["start"] == pytest.approx(2 / 25)
    expected = read_frames(meta["path"], frame_times(meta["path"])[[2, 7, 12, 17]], size=(32, 48))
    np.testing.assert_array_equal((sample["frames"] * 255).round().byte().numpy(), expected.values)


def test_labels_and_groups_without_decoding(ucf_mini, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr("seqimaging.video.base.frame_times", refuse)
    monkeypatch.setattr("seqimaging.video.base.read_frames", refuse)
    test = UCF101(ucf_mini, fold="test", sampling=DenseClips(length=4, clips=3))
    assert len(test) == 12 and test.labels == [0] * 6 + [1] * 6
    assert test.groups == ["g01"] * 12


def test_a_split_keeps_groups_apart(ucf_mini):
    folds = [UCF101(ucf_mini, fold=fold).records for fold in ("train", "test")]
    clips = VideoDataset(folds[0] + folds[1], DenseClips(length=2, clips=2))
    data = SequenceDataModule(clips, batch_size=2, val_fraction=0.5, test_fraction=0, seed=0)
    data.setup("fit")
    groups = [{clips.groups[i] for i in part} for part in (data.train_indices, data.val_indices)]
    assert groups[0] and groups[1] and not groups[0] & groups[1]


def _batches(dataset, workers):
    L.seed_everything(3, workers=True)
    loader = DataLoader(dataset, batch_size=2, shuffle=True, num_workers=workers)
    return [(b["frames"], b["meta"]["id"]) for b in loader]


def _same(one, other):
    assert [ids for _, ids in one] == [ids for _, ids in other]
    for (a, _), (b, _) in zip(one, other, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_workers_give_the_same_batches(ucf_mini):
    clips = UCF101(ucf_mini, fold="test", sampling=DenseClips(length=3, clips=2), size=(16, 24))
    read_video(clips.records[0].path)  # FFmpeg used in the parent before the workers fork
    _same(_batches(clips, 0), _batches(clips, 2))


def test_random_clips_repeat_with_the_same_workers(ucf_mini):
    train = UCF101(ucf_mini, fold="test", training=True, sampling=Segments(3), size=(16, 24))
    first = _batches(train, 2)
    _same(first, _batches(train, 2))


def test_multi_clip_test_average():
    scores = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
    mean, videos = average_clips(scores, ["b", "a", "b", "b"])
    assert videos == ["b", "a"]
    torch.testing.assert_close(mean, torch.tensor([[2.5 / 3, 1.5 / 3], [0.0, 1.0]]))


def test_frame_index_is_kept_and_renewed(tmp_path):
    video = write_video(tmp_path / "a.avi", gradient_frames(6), fps=5)
    index = FrameIndex(tmp_path / "index")
    np.testing.assert_allclose(index(video), np.arange(6) / 5)
    assert len(list((tmp_path / "index").glob("*.npy"))) == 1
    again = FrameIndex(tmp_path / "index")
    again._times.clear()
    np.testing.assert_allclose(again(video), np.arange(6) / 5)  # read from the file
    write_video(video, gradient_frames(9), fps=5)  # edited: a new entry
    np.testing.assert_allclose(FrameIndex(tmp_path / "index")(video), np.arange(9) / 5)


def test_fps_grid_and_range(tmp_path):
    video = write_video(tmp_path / "a.avi", gradient_frames(25), fps=25)
    table = tmp_path / "clips.csv"
    table.write_text("path,label,start,end\na.avi,x,0.2,0.8\n")
    clips = VideoTable(table, fps=10, sampling=DenseClips(length=6), size=None)
    np.testing.assert_allclose(clips.timeline(clips.records[0]), [0.2, 0.28, 0.4, 0.48, 0.6, 0.68])
    assert clips[0]["meta"]["start"] == pytest.approx(0.2)
    assert clips[0]["frames"].shape == (6, 3, 32, 48) and video.is_file()


def test_ucf101_bad_lists(ucf_mini):
    with pytest.raises(DataError, match=r"the splits are \(1, 2, 3\) and folds"):
        UCF101(ucf_mini, split=4)
    lists = ucf_mini / "ucfTrainTestlist"
    (lists / "testlist01.txt").write_text("Emerge/v_Emerge_g09_c01.avi\n")
    with pytest.raises(DataError, match=r"testlist01\.txt: names Emerge/v_Emerge_g09_c01\.avi"):
        UCF101(ucf_mini, fold="test")
    (lists / "testlist01.txt").write_text("Jump/v_Jump_g01_c01.avi\n")
    with pytest.raises(DataError, match=r"testlist01\.txt: class 'Jump' is not one of the 2"):
        UCF101(ucf_mini, fold="test")
    (lists / "testlist01.txt").write_text("Emerge/clip.avi\n")
    with pytest.raises(DataError, match="v_<Class>_gNN_cMM"):
        UCF101(ucf_mini, fold="test")
    (lists / "trainlist01.txt").write_text("Emerge/v_Emerge_g02_c01.avi 2\n")
    with pytest.raises(DataError, match=r"has label 2, but classInd\.txt numbers its class"):
        UCF101(ucf_mini, fold="train")
    (lists / "classInd.txt").write_text("1 Emerge\n3 Stretch\n")
    with pytest.raises(DataError, match=r"classInd\.txt: line '3 Stretch'"):
        UCF101(ucf_mini, fold="train")
    shutil.rmtree(lists)
    with pytest.raises(DatasetNotFoundError, match=r"crcv\.ucf\.edu"):
        UCF101(ucf_mini)


def test_hmdb51(tmp_path):
    lists = tmp_path / "testTrainMulti_7030_splits"
    lists.mkdir()
    names = {
        "jump": ["Film_A_jump_f_cm_np1_ri_med_0", "Film_B_jump_u_nm_np1_fr_goo_1"],
        "run": ["Film_A_run_f_cm_np1_le_med_0", "Other_run_f_nm_np2_ba_bad_3"],
    }
    marks = iter("1201")
    for action, clips in names.items():
        (tmp_path / action).mkdir()
        lines = []
        for clip in clips:
            write_video(tmp_path / action / f"{clip}.avi", gradient_frames(4), fps=10)
            lines.append(f"{clip}.avi {next(marks)}")
        (lists / f"{action}_test_split1.txt").write_text("\n".join(lines) + "\n")
    train, test = HMDB51(tmp_path, 1, "train"), HMDB51(tmp_path, 1, "test")
    assert train.class_names == ("jump", "run")
    assert [r.id for r in train.records] == [
        "Film_A_jump_f_cm_np1_ri_med_0",
        "Other_run_f_nm_np2_ba_bad_3",
    ]
    assert train.groups == ["Film_A", "Other"] and train.labels == [0, 1]
    assert test.groups == ["Film_B"]  # the clip marked 0 is in neither fold
    (lists / "run_test_split1.txt").write_text("missing.avi 1\n")
    with pytest.raises(DataError, match=r"run_test_split1\.txt: names missing\.avi"):
        HMDB51(tmp_path, 1, "train")
    (lists / "run_test_split1.txt").write_text("Other_run_f_nm_np2_ba_bad_3.avi 7\n")
    with pytest.raises(DataError, match=r"expected '<clip>\.avi 0\|1\|2'"):
        HMDB51(tmp_path, 1, "train")


def test_kinetics(tmp_path):
    (tmp_path / "validate.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,abc,10,20,validate\nzumba,def,0,10,validate\nzumba,gone,5,15,validate\n"
    )
    for label, name in (("abseiling", "abc_000010_000020"), ("zumba", "def_000000_000010")):
        (tmp_path / "validate" / label).mkdir(parents=True)
        write_video(tmp_path / "validate" / label / f"{name}.mp4", gradient_frames(3), fps=10)
    clips = Kinetics(tmp_path, "validate")
    assert clips.class_names == ("abseiling", "zumba") and clips.labels == [0, 1]
    assert clips.groups == ["abc", "def"] and [r.id for r in clips.missing] == [
        "gone_000005_000015"
    ]
    with pytest.raises(DataError, match="1 listed clips are missing"):
        Kinetics(tmp_path, "validate", strict=True)
    with pytest.raises(DataError, match="class 'zumba' is not one of the 1"):
        Kinetics(tmp_path, "validate", class_names=("abseiling",))
    with pytest.raises(DatasetNotFoundError, match="kinetics-dataset"):
        Kinetics(tmp_path, "train")


def test_video_table(tmp_path):
    for name in ("a", "b", "x/a"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_video(tmp_path / f"{name}.avi", gradient_frames(5), fps=10)
    table = tmp_path / "clips.csv"
    table.write_text("path,label,group,start\na.avi,walk,p1,\nb.avi,fall,,\nx/a.avi,fall,,0.1\n")
    clips = VideoTable(table, sampling=Segments(2), size=None)
    assert clips.class_names == ("fall", "walk") and clips.labels == [1, 0, 0]
    assert clips.groups == ["p1", str(tmp_path / "b.avi"), str(tmp_path / "x/a.avi")]
    assert [r.id for r in clips.records] == ["a", "b", "x/a@0.1"]  # unique per file
    assert clips[1]["frames"].shape == (2, 3, 32, 48)
    bad = {
        "path,label\na.avi,\n": "line 2: blank label",
        "path,label\na.avi,walk\n,walk\n": "line 3: blank path",
        "path,label,start,end\na.avi,walk,2,1.5\n": "line 2: end 1.5 is not after start 2",
        "path,label,start\na.avi,walk,soon\n": "line 2: start 'soon'",
        "path,label\na.avi,walk\na.avi,walk\n": "lines 2 and 3: the same clip twice",
        "path,label\nc.avi,walk\n": r"c\.avi: no such video file",
        "file,class\na.avi,walk\n": "no 'path' and 'label' columns",
    }
    for text, message in bad.items():
        table.write_text(text)
        with pytest.raises(DataError, match=message):
            VideoTable(table)


def test_a_range_outside_the_video(tmp_path):
    table = tmp_path / "clips.csv"
    shutil.copy(H264, tmp_path / "b.mp4")
    table.write_text("path,label,start,end\nb.mp4,x,30,40\n")
    with pytest.raises(DataError, match=r"b\.mp4: no frame between 30.0 s and 40.0 s"):
        VideoTable(table)[0]
