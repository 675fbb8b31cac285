import pytest

from seqimaging.bench import BENCHMARKS
from seqimaging.cli import main


def test_bench_list_names_every_benchmark(capsys):
    main(["bench", "list"])
    out = capsys.readouterr().out
    for name in BENCHMARKS:
        assert name in out


def test_unknown_benchmark_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "no-such-benchmark"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'no-such-benchmark'" in err and "convlstm-speed" in err
