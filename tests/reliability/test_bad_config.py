"""``seqimaging fit`` configs with unknown keys or values of the wrong type."""

import contextlib
import io
from pathlib import Path

import pytest
import yaml
from _checks import cases
from hypothesis import given
from hypothesis import strategies as st

from seqimaging.cli import main

CONFIG = yaml.safe_load(
    (Path(__file__).parents[2] / "examples" / "configs" / "classification.yaml").read_text()
)
SECTIONS = {  # where a key can be added, as a path of keys into the config
    "top level": (),
    "trainer": ("trainer",),
    "model": ("model", "init_args"),
    "data": ("data", "init_args"),
    "dataset": ("data", "init_args", "dataset", "init_args"),
}
TYPED = {  # keys whose value must be a number or a boolean
    ("trainer", "max_epochs"): "max_epochs",
    ("model", "init_args", "lr"): "lr",
    ("model", "init_args", "num_classes"): "num_classes",
    ("data", "init_args", "batch_size"): "batch_size",
    ("data", "init_args", "dataset", "init_args", "frames"): "frames",
}
WRONG = st.sampled_from(["many", [1, 2], {"a": 1}, "1e999x", "true?"])
names = st.from_regex(r"\A[a-z][a-z_]{2,12}\Z").filter(lambda k: k not in {"seed", "model"})


def _fit(config: dict, folder: Path) -> tuple[int, str]:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        with pytest.raises(SystemExit) as exit_info:
            main(["fit", "--config", str(path), "--print_config"])
    return exit_info.value.code, err.getvalue()


def _copy(config):
    return yaml.safe_load(yaml.safe_dump(config))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_example_config_is_accepted(in_tmp):
    assert _fit(_copy(CONFIG), in_tmp)[0] == 0


@cases(12)
@given(section=st.sampled_from(sorted(SECTIONS)), key=names, value=st.integers(0, 3))
def test_an_unknown_key_is_named_without_a_traceback(in_tmp, section, key, value):
    config = _copy(CONFIG)
    node = config
    for part in SECTIONS[section]:
        node = node[part]
    if key in node:
        return
    node[key] = value
    code, err = _fit(config, in_tmp)
    assert code != 0 and key in err and "Traceback" not in err


@cases(12)
@given(where=st.sampled_from(sorted(TYPED)), value=WRONG)
def test_a_value_of_the_wrong_type_is_named_without_a_traceback(in_tmp, where, value):
    config = _copy(CONFIG)
    node = config
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    code, err = _fit(config, in_tmp)
    assert code != 0 and TYPED[where] in err and "Traceback" not in err
