"""UCF101 (Soomro et al., 2012): 13 320 clips of 101 actions, three official splits.

Layout (as distributed)::

    root/UCF-101/<Class>/v_<Class>_gNN_cMM.avi
    root/ucfTrainTestlist/classInd.txt        "1 ApplyEyeMakeup"
    root/ucfTrainTestlist/trainlist0N.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    root/ucfTrainTestlist/testlist0N.txt      "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

The clips of one group (``gNN``: one actor and scene) are all in the train list or all in
the test list of a split; a group is the sample's ``meta["group"]``, so that a validation
split cut from the training list keeps groups apart too. The group is the bare ``gNN``,
shared by every class, as the official splits hold out group numbers across classes:
coarser than one actor, never leaking one.

Example:
    >>> train = UCF101("UCF101", split=1, fold="train", training=True)  # doctest: +SKIP
    >>> train.class_names[:2], train.groups[0]  # doctest: +SKIP
    (('ApplyEyeMakeup', 'ApplyLipstick'), 'g08')
"""

import re
from pathlib import Path

from seqimaging.errors import DataError
from seqimaging.video.base import VideoRecord
from seqimaging.video.lists import OfficialSplit, class_list, list_lines

FILE = re.compile(r"v_\w+?_(?P<group>g\d+)_c\d+$")


class UCF101(OfficialSplit):
    """The clips of one fold of an official UCF101 split.

    Args:
        root: the folder holding ``UCF-101/`` (or the class folders themselves) and
            ``ucfTrainTestlist/``.
        split: 1, 2 or 3.
        fold: ``"train"`` (``trainlist0N.txt``) or ``"test"`` (``testlist0N.txt``).
        **kwargs: as :class:`~seqimaging.video.VideoDataset` (sampling, training, size, ...).

    Raises:
        DatasetNotFoundError: no ``ucfTrainTestlist`` under ``root``.
        DataError: a list names a clip that is not there, a class not in ``classInd.txt``,
            a file not named ``v_<Class>_gNN_cMM``, or a label that disagrees with its folder.
    """

    lists = "ucfTrainTestlist"
    videos = "UCF-101"
    download = (
        "download UCF101 (https://www.crcv.ucf.edu/data/UCF101.php: UCF101.rar and "
        "UCF101TrainTestSplits-RecognitionTask.zip)"
    )

    def read(self, root: Path, lists: Path, split: int, fold: str) -> list[VideoRecord]:
        self.class_names = class_list(lists / "classInd.txt")
        videos = root / self.videos if (root / self.videos).is_dir() else root
        listing = lists / f"{fold}list0{split}.txt"
        return [self._record(fields, listing, videos) for fields in list_lines(listing)]

    def _record(self, fields: list[str], listing: Path, videos: Path) -> VideoRecord:
        relative = Path(fields[0])
        match = FILE.match(relative.stem)
        if match is None or len(relative.parts) != 2:
            raise DataError(
                f"{listing}: {fields[0]!r} is not <Class>/v_<Class>_gNN_cMM.avi, as UCF101 "
                "names its clips"
            )
        label = self.class_index(relative.parts[0], listing)
        if len(fields) > 1 and fields[1] != str(label + 1):
            raise DataError(
                f"{listing}: {fields[0]} has label {fields[1]}, but classInd.txt numbers its "
                f"class {relative.parts[0]} {label + 1}"
            )
        path = videos / relative
        if not path.is_file():
            raise DataError(f"{listing}: names {fields[0]}, which is not at {path}")
        return VideoRecord(relative.stem, path, label, match["group"])
