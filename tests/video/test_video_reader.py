import hashlib

import cv2
import numpy as np
import pytest
from video_helpers import H264, UCF_MINI, av, gradient_frames, write_variable_rate

from seqimaging.errors import DataError
from seqimaging.video import frame_times, read_frames, read_video, reader, write_video
from seqimaging.video.reader import SEEK_GAP, on_grid

AVI = UCF_MINI / "UCF-101" / "Emerge" / "v_Emerge_g01_c01.avi"


def opencv_frames(path) -> np.ndarray:
    capture, frames = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        frames.append(read[1][..., ::-1].transpose(2, 0, 1))
    return np.stack(frames)


@pytest.mark.parametrize("path", [H264, AVI], ids=["h264-bframes", "mpeg4-avi"])
def test_frames_equal_opencv_and_pyav(path):
    video = read_video(path)
    assert video.dims == ("time", "channel", "y", "x") and video.dtype == np.uint8
    np.testing.assert_array_equal(video.values, opencv_frames(path))
    with av.open(str(path)) as container:
        own = [f.to_ndarray(format="rgb24").transpose(2, 0, 1) for f in container.decode(video=0)]
    np.testing.assert_array_equal(video.values, np.stack(own))
    np.testing.assert_allclose(video.time.values, np.arange(len(own)) / 25, atol=1e-9)
    assert video.attrs["frame_rate"] == 25


def test_frame_times_demux_only_in_presentation_order():
    times = frame_times(H264)  # B-frames: packets come in decoding order
    np.testing.assert_allclose(times, np.arange(50) / 25, atol=1e-9)


def test_range_seeks_and_matches_the_whole_read():
    whole = read_video(H264)
    part = read_video(H264, start=0.5, end=1.2)
    keep = (whole.time >= 0.5) & (whole.time < 1.2)
    np.testing.assert_array_equal(part.values, whole.values[keep.values])
    np.testing.assert_allclose(part.time.values, whole.time.values[keep.values])


@pytest.mark.parametrize("start", [0.3, 0.1, 0.6])  # 0.1 + 7 / 10 rounds below 0.8
def test_fps_takes_the_frame_on_screen(start):
    whole = read_video(H264)
    slow = read_video(H264, fps=10, start=start, end=start + 1.0)
    np.testing.assert_allclose(slow.time.values, start + np.arange(10) / 10)
    shown = np.floor(slow.time.values * 25 + 1e-6).astype(int)  # frames 1/25 s apart
    np.testing.assert_array_equal(slow.values, whole.values[shown])


def test_fps_read_equals_the_grid_of_the_index():
    times = frame_times(H264)
    for fps in (7, 10, 25):
        video = read_video(H264, fps=fps)
        picked = on_grid(times, fps)
        np.testing.assert_array_equal(video.values, read_frames(H264, picked).values)


def test_a_range_decodes_from_the_keyframe_before_it_only(monkeypatch):
    decoded = []
    original = reader._frames

    def counting(*args):
        for item in original(*args):
            decoded.append(item[0])
            yield item

    monkeypatch.setattr(reader, "_frames", counting)
    read_video(H264, start=1.5, end=1.7)  # keyframes every 12 frames: 1.44 is one
    assert min(decoded) >= 1.44 - 1e-9 and len(decoded) <= 8


def _bframe_avi(path):
    frames = gradient_frames(40)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=25, options={"bf": "2", "g": "12"})
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image.transpose(1, 2, 0))))
        out.mux(stream.encode())
    return path


def test_seeks_in_avi_with_b_frames_land_before_the_range(tmp_path):
    path = _bframe_avi(tmp_path / "bframes.avi")  # its index seeks past some starts
    whole, times = read_video(path), frame_times(path)
    for start in (0.16, 0.4, 0.44, 1.0):
        part = read_video(path, start=start, end=start + 0.3)
        keep = (whole.time.values >= start - 1e-9) & (whole.time.values < start + 0.3 - 1e-9)
        np.testing.assert_array_equal(part.values, whole.values[keep])
    picks = [3, 13, 11, 25]
    np.testing.assert_array_equal(read_frames(path, times[picks]).values, whole.values[picks])


def test_variable_frame_rate_is_kept(tmp_path):
    expected = write_variable_rate(tmp_path / "vfr.mkv", [4, 4, 10, 2, 30, 4])
    np.testing.assert_allclose(frame_times(tmp_path / "vfr.mkv"), expected, atol=1e-9)
    video = read_video(tmp_path / "vfr.mkv")
    np.testing.assert_allclose(video.time.values, expected, atol=1e-9)
    at_rate = read_video(tmp_path / "vfr.mkv", fps=20)  # every 0.05 s: 0.00 .. 0.50
    shown = np.searchsorted(expected, at_rate.time.values + 1e-9, side="right") - 1
    np.testing.assert_array_equal(at_rate.values, video.values[shown])


@pytest.mark.parametrize("size, shape", [((20, 30), (20, 30)), (45, (45, 80)), (None, (90, 160))])
def test_size(size, shape):
    assert read_video(H264, end=0.1, size=size).shape[2:] == shape


def test_read_frames_any_order_and_repeats(monkeypatch):
    whole, times = read_video(H264), frame_times(H264)
    picks = [40, 3, 7, 7, 49, 0]
    got = read_frames(H264, times[picks])
    np.testing.assert_array_equal(got.values, whole.values[picks])
    np.testing.assert_allclose(got.time.values, times[picks])
    monkeypatch.setattr("seqimaging.video.reader.SEEK_GAP", 0.0)  # seek before every frame
    np.testing.assert_array_equal(read_frames(H264, times[picks]).values, whole.values[picks])
    assert SEEK_GAP > 0


def test_read_frames_rejects_a_time_that_is_no_frame():
    with pytest.raises(DataError, match=r"no frame at 0\.050000 s"):
        read_frames(H264, [0.05])
    with pytest.raises(DataError, match="decoding ended"):
        read_frames(H264, [9.0])


def test_write_video_round_trip(tmp_path):
    frames = gradient_frames(12)
    path = write_video(tmp_path / "g.avi", frames, fps=10, quality=2)
    back = read_video(path)
    assert back.shape == frames.shape
    assert np.abs(back.values.astype(int) - frames).mean() < 3
    np.testing.assert_allclose(back.time.values, np.arange(12) / 10)
    with pytest.raises(DataError, match="even height and width"):
        write_video(tmp_path / "odd.avi", gradient_frames(2, 31, 48))
    with pytest.raises(DataError, match="no container for suffix"):
        write_video(tmp_path / "g.xyz", frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.avi"]  # nothing half-written


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_truncated_file(tmp_path):
    data = H264.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.mp4.*(truncated|corrupt|cannot open)"):
        frame_times(cut)
    avi = tmp_path / "cut.avi"
    avi.write_bytes(AVI.read_bytes()[: AVI.stat().st_size * 2 // 3])
    with pytest.raises(DataError, match=r"cut\.avi.*truncated"):
        frame_times(avi)


def test_corrupt_file_and_not_a_video(tmp_path):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"RIFF" + bytes(range(256)) * 20)
    before = _digest(junk)
    with pytest.raises(DataError, match=r"junk\.avi"):
        read_video(junk)
    assert _digest(junk) == before  # inputs are only read
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(DataError, match=r"notes\.mp4: FFmpeg cannot open it"):
        frame_times(text)
    with pytest.raises(DataError, match="no such video file"):
        read_video(tmp_path / "absent.avi")


def test_unsupported_codec(tmp_path):
    path = tmp_path / "odd.avi"
    path.write_bytes(AVI.read_bytes().replace(b"FMP4", b"QQQQ"))  # a FourCC FFmpeg lacks
    with pytest.raises(DataError, match=r"odd\.avi: FFmpeg has no decoder for its video codec"):
        read_video(path)


def test_audio_only(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with pytest.raises(DataError, match=r"tone\.wav: has no video stream \(streams: audio\)"):
        read_video(path)


def test_zero_frames(tmp_path):
    path = tmp_path / "empty.avi"
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()  # the header, and no frame
    with pytest.raises(DataError, match=r"empty\.avi: holds no video frame"):
        frame_times(path)
    with pytest.raises(DataError, match=r"empty\.avi: no frame decoded"):
        read_video(path)


def test_time_limit_bounds_decoding():
    with pytest.raises(DataError, match="reading took longer than 0 s"):
        read_video(H264, time_limit=0.0)


def test_bad_arguments():
    with pytest.raises(DataError, match="fps must be positive"):
        read_video(H264, fps=0)
    with pytest.raises(DataError, match="is not after start"):
        read_video(H264, start=1.0, end=0.5)
