"""Malformed tables: CineTable CSVs (non-finite targets, blank labels, a cine in two rows,
bytes that are not UTF-8), ACDC's Info.cfg (Latin-1 bytes, odd values) and the Sunnybrook
CSV with a Latin-1 byte."""

import math
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from _checks import cases, outcome
from hypothesis import given
from hypothesis import strategies as st

from seqimaging.errors import DataError
from seqimaging.medical import ACDC, CineTable, Sunnybrook

CINES = ("a.nii.gz", "b.nii.gz", "c.nii.gz")
INFO = b"ED: 1\nES: 12\nGroup: DCM\nHeight: 184.0\nNbFrame: 30\nWeight: 95.0\n"
SUNNYBROOK = Path(__file__).parents[1] / "data" / "sunnybrook"


def _table(folder: Path, text: str, encoding: str = "utf-8") -> Path:
    """``folder/table.csv`` holding ``text``, beside empty files named as :data:`CINES`."""
    for name in CINES:
        (folder / name).touch()
    path = folder / "table.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _read_table(csv: Path) -> CineTable:
    """A CineTable of ``csv``, checked: one row per cine, labels that are neither blank nor
    hold bytes that are not UTF-8, finite targets."""
    table = CineTable(csv, targets=("lvef",))
    paths = [record.path.resolve() for record in table.records]
    assert len(set(paths)) == len(paths), "a cine in two rows"
    labels = [table.class_names[r.label] for r in table.records if r.label is not None]
    assert all(label.strip() and "\ufffd" not in label for label in labels)
    assert all(math.isfinite(t) for record in table.records for t in record.target)
    return table


@cases(60)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([*CINES, "./a.nii.gz", "missing.nii.gz", "", "a\0.nii.gz"]),
            st.sampled_from(["NOR", "DCM", "HCM", "", " ", "DC\xe9", "nan"]),
            st.sampled_from(["", "p1", "p2"]),
            st.sampled_from(["55.0", "nan", "inf", "-inf", "1e999", "", "abc", "1e308"]),
            st.sampled_from(["", "0", "-1", "1.5", "9" * 400]),
        ),
        min_size=1,
        max_size=4,
    ),
    encoding=st.sampled_from(["utf-8", "latin-1"]),
)
def test_generated_cine_tables(rows, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        lines = ["path,label,group,lvef,ed", *(",".join(row) for row in rows)]
        csv = _table(Path(tmp), "\n".join(lines) + "\n", encoding)
        outcome(lambda: _read_table(csv), [csv])


@pytest.mark.parametrize("target", ["nan", "inf", "-inf", "1e999"])
def test_a_non_finite_target_is_refused_naming_the_line(tmp_path, target):
    csv = _table(tmp_path, f"path,lvef\na.nii.gz,55\nb.nii.gz,{target}\n")
    with pytest.raises(DataError, match=f"{csv}: line 3: lvef is '{target}'; expected a finite"):
        CineTable(csv, targets=("lvef",))


def test_a_blank_label_is_refused_not_made_a_class(tmp_path):
    csv = _table(tmp_path, "path,label\na.nii.gz,NOR\nb.nii.gz, \n")
    with pytest.raises(DataError, match=f"{csv}: line 3: label is blank; expected a label"):
        CineTable(csv)


@pytest.mark.parametrize(
    ("second", "differ"),
    [
        ("a.nii.gz,DCM,p1", "label 'NOR' and 'DCM'"),
        ("a.nii.gz,NOR,p2", "group 'p1' and 'p2'"),
        ("./a.nii.gz,NOR,p1", None),
    ],
)
def test_a_cine_in_two_rows_is_refused_naming_both_lines(tmp_path, second, differ):
    csv = _table(tmp_path, f"path,label,group\na.nii.gz,NOR,p1\nb.nii.gz,NOR,p3\n{second}\n")
    with pytest.raises(DataError, match=f"{csv}: lines 2 and 4 both list the cine") as info:
        CineTable(csv)
    assert (differ or "expected each cine in one row") in str(info.value)


def test_a_label_with_a_latin1_byte_is_refused(tmp_path):
    csv = _table(tmp_path, "path,label\na.nii.gz,NOR\nb.nii.gz,DC\xe9\n", "latin-1")
    with pytest.raises(DataError, match=f"{csv}: line 3: label 'DC\ufffd' holds bytes that"):
        CineTable(csv)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (b"Group: DCM", b"Group: DCM\xe9", "Group is 'DCM\ufffd', with bytes that are not UTF-8"),
        (b"Height: 184.0", b"Height: 184\xb70", "Height is '184\ufffd0', with bytes"),
        (b"Weight", b"W\xe9ight", "key 'W\ufffdight' is unknown"),
        (b"Height: 184.0", b"Height: 1e999", "Height is '1e999'; expected a finite number"),
    ],
)
def test_info_cfg_with_a_latin1_byte_or_an_infinite_value_is_a_data_error(
    tmp_path, old, new, problem
):
    path = tmp_path / "Info.cfg"
    path.write_bytes(INFO.replace(old, new))
    with pytest.raises(DataError, match=f"{path}: .*{problem}"):
        ACDC.read_info(path)


def _read_info(path: Path) -> dict:
    info = ACDC.read_info(path)
    assert {type(v) for v in info.values()} <= {int, float, str}
    assert all(math.isfinite(v) for v in info.values() if not isinstance(v, str))
    return info


@cases(40)
@given(
    changes=st.lists(
        st.tuples(
            st.integers(0, len(INFO) - 1),
            st.sampled_from([b"", b" ", b"7", b"\n", b"\xe9", b"\xff\xfe", b"\0"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_info_cfg_with_bytes_replaced(tmp_path, changes):
    raw = bytearray(INFO)
    for position, replacement in changes:
        raw[position : position + 1] = replacement
    path = tmp_path / "Info.cfg"
    path.write_bytes(bytes(raw))
    outcome(lambda: _read_info(path), [path])


def test_a_latin1_byte_in_a_column_kept_as_information_is_read(tmp_path):
    for cine in SUNNYBROOK.glob("*.nii.gz"):
        shutil.copy(cine, tmp_path)
    table = (SUNNYBROOK / "labels.csv").read_bytes().replace(b"SC-HF-I-01", b"SC-HF-\xcd-01")
    (tmp_path / "labels.csv").write_bytes(table)
    assert [r.target for r in Sunnybrook(tmp_path).records] == [(26.2,), (25.5,)]
    (tmp_path / "labels.csv").write_bytes(table.replace(b",26.2", b",26\xb72"))
    message = f"{tmp_path / 'labels.csv'}: lv_ef_percent is '26\ufffd2'; expected a finite"
    with pytest.raises(DataError, match=re.escape(message)):
        Sunnybrook(tmp_path)
