"""Imports flow one way: faces → tasks → models; datasets → readers → the sample contract.

Every ``import`` in the package (module level or inside a function) is read from the
source and checked against the layer table below: a module may import only its own
package and the layers listed for it.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "seqimaging"
BASE = {
    "errors",
    "_optional",
    "choices",
    "files",
    "runs",
    "profiling",
    "threads",
    "allocator",
}  # plumbing under everything
CONTRACT = BASE | {"sample", "splits", "transforms"}
ALLOWED = {  # unit → the units it may import besides itself
    "errors": set(),
    "_optional": {"errors"},
    "choices": {"errors"},
    "files": {"errors"},
    "runs": set(),
    "profiling": set(),
    "threads": set(),
    "allocator": set(),
    "sample": {"errors"},
    "splits": {"errors"},
    "transforms": {"errors"},
    "testing": {"errors"},
    "medical": CONTRACT,
    "geo": CONTRACT,
    "video": CONTRACT,
    "data": CONTRACT,
    "models": BASE,
    "evaluation": BASE | {"splits"},  # choosing settings by cross-validation needs folds
    "report": CONTRACT | {"evaluation"},
    "tasks": BASE | {"sample", "data", "models", "evaluation"},
    "inference": CONTRACT | {"data", "medical", "geo", "models", "tasks", "report"},  # applied
    # faces: each uses the layers below, never another face ...
    "demo": CONTRACT | {"data", "medical", "geo", "models", "evaluation", "report", "tasks"},
    "bench": CONTRACT
    | {"data", "medical", "geo", "video", "models", "evaluation", "report", "tasks", "testing"}
    | {"inference"},
    "training_cli": BASE | {"report", "tasks"},
    # ... except the command line, which only dispatches to them
    "cli": BASE | {"demo", "bench", "training_cli", "inference"},
}
NO_LIGHTNING = {"sample", "splits", "transforms", "testing", "medical", "geo", "video", "models"}


def _unit(module: str) -> str | None:
    """``"models"`` for ``seqimaging.models.convlstm``; None outside the package."""
    parts = module.split(".")
    return parts[1] if parts[0] == "seqimaging" and len(parts) > 1 else None


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_of_the_package_has_a_layer():
    units = {_unit(".".join(("seqimaging", *p.relative_to(PACKAGE).with_suffix("").parts)))
             for p in MODULES if p.name != "__init__.py" or p.parent != PACKAGE}  # fmt: skip
    assert units <= set(ALLOWED), units - set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_only(path):
    unit = _unit(".".join(("seqimaging", *path.relative_to(PACKAGE).with_suffix("").parts)))
    if unit is None:  # the package's own empty __init__
        return
    for name in _imports(path):
        target = _unit(name)
        if target is not None and target != unit:
            assert target in ALLOWED[unit], f"{path.name}: {unit} imports {name} ({target})"
        if unit in NO_LIGHTNING:
            assert name.split(".")[0] not in ("lightning", "pytorch_lightning"), (
                f"{path.name}: {unit} imports {name}; Lightning belongs to tasks and faces"
            )


def test_the_check_can_fail(tmp_path):
    upward = tmp_path / "reader.py"
    upward.write_text("from seqimaging.models import ConvLSTM\n")
    (target,) = (_unit(n) for n in _imports(upward))
    assert target == "models" and target not in ALLOWED["geo"]
