"""Every choice by name in seqimaging.models is a table: unknown names fail from Python.

Each is built with an unknown name through its public entry point, and must raise
:class:`SeqImagingError` naming every valid choice, before any weights are made (the
random generator is untouched).
"""

import pytest
import torch

from seqimaging.errors import SeqImagingError
from seqimaging.models import (
    CORES,
    ENCODERS,
    FORECAST_CODECS,
    HEADS,
    MODELS,
    POOLINGS,
    ConvLSTMCore,
    ConvLSTMForecaster,
    CoreOptions,
    LSTMCore,
    RegionsCore,
    SeqNet,
    StaticCore,
    TemporalPooling,
    build_encoder,
    build_model,
    list_models,
)

UNKNOWN = [
    pytest.param(MODELS, lambda: build_model("nope", in_channels=1), id="model"),
    pytest.param(CORES, lambda: SeqNet(1, 2, core="nope"), id="core"),
    pytest.param(ENCODERS, lambda: build_encoder("nope", 1), id="encoder"),
    pytest.param(ENCODERS, lambda: SeqNet(1, 2, encoder="nope"), id="seqnet-encoder"),
    pytest.param(POOLINGS, lambda: SeqNet(1, 2, pooling="nope"), id="pooling"),
    pytest.param(POOLINGS, lambda: TemporalPooling(4, "nope"), id="temporal-pooling"),
    pytest.param(HEADS, lambda: SeqNet(1, 2, head="nope"), id="head"),
    pytest.param(
        FORECAST_CODECS, lambda: ConvLSTMForecaster(1, encoder="nope"), id="forecaster-encoder"
    ),
]


@pytest.mark.parametrize(("table", "build"), UNKNOWN)
def test_an_unknown_name_lists_every_valid_one(table, build):
    rng = torch.get_rng_state()
    with pytest.raises(SeqImagingError) as info:
        build()
    names = ", ".join(sorted(table))
    assert str(info.value) == f"unknown {table.kind} 'nope'; expected one of: {names}"
    assert torch.equal(torch.get_rng_state(), rng)  # it failed before making any weights


def test_the_tables_hold_the_documented_names():
    assert sorted(MODELS) == list_models()
    assert sorted(CORES) == ["convlstm", "lstm", "regions", "static"]
    assert sorted(ENCODERS) == [
        "identity",
        "resnet18",
        "resnet18_imagenet",
        "resnet34",
        "resnet50_imagenet",
        "small",
    ]
    assert sorted(POOLINGS) == ["attention", "last", "mean"]
    assert sorted(HEADS) == ["linear"]
    assert sorted(FORECAST_CODECS) == ["conv", "patch"]


def test_each_core_row_reads_its_options():
    options = CoreOptions(hidden_channels=5, num_layers=2, kernel_size=1, grid=3, frame=-1)
    convlstm, lstm = CORES["convlstm"](4, options), CORES["lstm"](4, options)
    regions, static = CORES["regions"](4, options), CORES["static"](4, options)
    assert isinstance(convlstm, ConvLSTMCore)
    assert convlstm.convlstm.hidden_channels == [5, 5]
    assert convlstm.convlstm.layers[0][0].kernel_size == 1
    assert isinstance(lstm, LSTMCore) and (lstm.lstm.hidden_size, lstm.lstm.num_layers) == (5, 2)
    assert isinstance(regions, RegionsCore)
    assert (regions.out_features, regions.grid, regions.frame) == (5, 3, -1)
    assert isinstance(static, StaticCore) and (static.out_features, static.frame) == (4, -1)
