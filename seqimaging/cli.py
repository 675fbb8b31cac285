"""The ``seqimaging`` command line.

``seqimaging fit|validate|test|predict --config cfg.yaml`` is LightningCLI: the YAML
names a task and a data module by ``class_path``/``init_args``, as in torchgeo, and
``--print_config`` shows every setting. ``seqimaging forecast`` and ``classify`` apply a
trained checkpoint to new data; ``seqimaging demo`` trains and reports on embedded data;
``seqimaging bench`` runs the benchmarks. ``seqimaging --threads N COMMAND`` sets torch's
threads (default: ``OMP_NUM_THREADS`` if set, else the cores no other process keeps busy,
:mod:`seqimaging.threads`); every command keeps freed memory for reuse
(:mod:`seqimaging.allocator`).
"""

import argparse
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from seqimaging.allocator import keep_freed_memory
from seqimaging.errors import SeqImagingError
from seqimaging.threads import set_threads

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")


def _bench(args: argparse.Namespace) -> None:
    from seqimaging.bench import BENCHMARKS

    if args.name == "list":
        for name, benchmark in BENCHMARKS.items():
            print(f"{name:16s} {benchmark.summary}")
        return
    benchmark = BENCHMARKS[args.name]
    if args.root is not None and benchmark.reads_data and not args.root.is_dir():
        raise SeqImagingError(f"--root {args.root} is not a folder; expected the data set's folder")
    kind = benchmark.options_class()
    given = {"root": args.root, "quick": args.quick, "seed": args.seed, "device": args.device}
    if args.repeats is not None:
        given["repeats"] = args.repeats
    if args.test is not None:
        given["test"] = tuple(part.strip() for part in args.test.split(","))
    for option in ("split", "weights", "fps"):
        if getattr(args, option) is not None:
            given[option] = getattr(args, option)
    unknown = set(given) - {f.name for f in fields(kind)}
    if unknown:
        raise SeqImagingError(f"benchmark {args.name} has no option --{', --'.join(unknown)}")
    benchmark.run(args.out / args.name, kind(**given))


def _classify(args: argparse.Namespace) -> None:
    from seqimaging.inference.classify import classify, given_sampling

    sampling = given_sampling(frames=args.frames, slices=args.slices, size=args.size)
    out = classify(
        args.ckpt_path,
        args.input,
        args.out,
        batch_size=args.batch_size,
        device=args.device,
        sampling=sampling,
    )
    print(out)


def _applying(
    commands: argparse._SubParsersAction, name: str, task: str, out: str, **texts: str
) -> argparse.ArgumentParser:
    """The parser of command ``name``, which applies a trained ``task`` and writes what it
    makes to a new ``--out`` (``out`` says what that is): ``--ckpt_path``, ``--out``."""
    parser = commands.add_parser(name, **texts)
    parser.add_argument(
        "--ckpt_path",
        required=True,
        help=f"a {task} checkpoint, or last / best (the newest run's under runs/)",
    )
    parser.add_argument("--out", required=True, type=Path, help=out)
    return parser


def _add_classify(commands: argparse._SubParsersAction) -> None:
    classify = _applying(
        commands,
        "classify",
        "ClassificationTask",
        "the CSV to write (new)",
        help="class probabilities of unlabelled cines with a trained classifier",
        description="Classify a folder of 4-D NIfTI cines or a CSV table of cines "
        "(CineTable) with a ClassificationTask checkpoint; write id, predicted, p_<class>.",
    )
    classify.add_argument("--input", required=True, type=Path, help="a folder or a CSV table")
    classify.add_argument("--batch_size", type=int, default=8, help="cines per forward pass")
    classify.add_argument("--device", default="cpu", help="cpu or cuda")
    for name in ("frames", "slices", "size"):
        classify.add_argument(
            f"--{name}",
            type=int,
            help=f"CineSampling.{name} (default the checkpoint's, else CineSampling's)",
        )
    classify.set_defaults(func=_classify)


def _demo(args: argparse.Namespace) -> None:
    from seqimaging.demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, cache=args.cache)


def _forecast(args: argparse.Namespace) -> None:
    from seqimaging.inference.forecast import forecast

    options = {k: v for k, v in vars(args).items() if k not in ("command", "func")}
    print(forecast(**options))


def _export(args: argparse.Namespace) -> None:
    from seqimaging.inference.export import export_checkpoint

    print(
        export_checkpoint(args.ckpt_path, args.out, args.format, frames=args.frames, size=args.size)
    )


def _add_export(commands: argparse._SubParsersAction) -> None:
    export = _applying(
        commands,
        "export",
        "SequenceTask",
        "the folder to write (new)",
        help="export a trained model to ONNX (onnxruntime) or a torch.export program",
        description="Export a checkpoint's model into a new folder: a forecaster as its "
        "per-frame step and its forecast, a classifier or regressor as its whole sequence; "
        "batch, height and width dynamic.",
    )
    export.add_argument("--format", required=True, help="onnx or torch-export")
    export.add_argument("--frames", type=int, help="example length (default: the training's)")
    export.add_argument("--size", type=int, help="example frame side (default: the training's)")
    export.set_defaults(func=_export)


def _add_forecast(commands: argparse._SubParsersAction) -> None:
    forecast = _applying(
        commands,
        "forecast",
        "ForecastTask",
        "OUT.zarr, OUT.nc or a folder",
        help="forecast the next frames of a whole scene with a trained forecaster",
        description="Forecast the frames after the end of a series (a zarr or netCDF cube, a "
        "folder of dated GeoTIFFs, or a radar event folder), over the whole grid in "
        "overlapping windows, written as a CF cube (.zarr, .nc) or one COG per lead time "
        "(a folder).",
    )
    forecast.add_argument("--input", required=True, type=Path, help="the series to continue")
    forecast.add_argument("--horizon", type=int, help="frames to forecast (default the model's)")
    forecast.add_argument("--context", type=int, help="context frames (default the training's)")
    forecast.add_argument("--patch", type=int, help="window size (default the training patch)")
    forecast.add_argument("--overlap", type=float, default=0.5, help="window overlap fraction")
    forecast.add_argument("--block", type=int, default=1024, help="pixels per dask task side")
    forecast.add_argument("--batch_size", type=int, default=16, help="windows per forward pass")
    forecast.add_argument("--variable", help="the variable of a cube with several")
    forecast.add_argument("--radar", help="the network of a radar event folder (fmi, knmi, ...)")
    forecast.add_argument(
        "--scheduler", help="threads (default), sync, processes, or a dask.distributed address"
    )
    forecast.set_defaults(func=_forecast)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqimaging", description=__doc__)
    parser.add_argument(
        "--threads",
        type=int,
        default=argparse.SUPPRESS,  # read by _leading_threads, never by a command
        help="torch threads, given before the command (default: OMP_NUM_THREADS if set, else "
        "the cores no other process keeps busy)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in LIGHTNING_COMMANDS:  # listed for --help; run by LightningCLI
        commands.add_parser(name, help=f"{name} a task from a YAML config (LightningCLI)")

    demo = commands.add_parser(
        "demo", help="train and report on embedded cardiac and satellite data (a few minutes)"
    )
    demo.add_argument("--quick", action="store_true", help="smaller data, about a minute")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--cache", type=Path, default=None, help="data cache (~/.cache/seqimaging)")
    demo.set_defaults(func=_demo)

    bench = commands.add_parser("bench", help="run a benchmark, or `list` them")
    bench.add_argument("name", help="benchmark name, or `list`")
    bench.add_argument(
        "--root", type=Path, default=None, help="the real data (default: a generated stand-in)"
    )
    bench.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    bench.add_argument("--quick", action="store_true", help="smallest sizes (a smoke run)")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--repeats", type=int, help="timed runs per measurement (convlstm-speed)")
    bench.add_argument(
        "--test", help="held-out events, SOURCE/EVENT[,SOURCE/EVENT...] (radar-nowcast)"
    )
    bench.add_argument("--split", type=int, help="official split, 1, 2 or 3 (ucf101)")
    bench.add_argument("--weights", type=Path, help="ImageNet ResNet-18 state dict file (ucf101)")
    bench.add_argument("--fps", type=float, help="rate frames are encoded at (ucf101)")
    bench.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    bench.set_defaults(func=_bench)
    _add_forecast(commands)
    _add_classify(commands)
    _add_export(commands)
    return parser


def _leading_threads(
    parser: argparse.ArgumentParser, words: list[str]
) -> tuple[int | None, list[str]]:
    """``--threads N`` (or ``--threads=N``) given before the command, and the other words."""
    if words[:1] == ["--threads"] and len(words) > 1:
        value, rest = words[1], words[2:]
    elif words[:1] and words[0].startswith("--threads="):
        value, rest = words[0].partition("=")[2], words[1:]
    else:
        return None, words
    if not value.isdigit() or int(value) < 1:
        parser.error(f"--threads {value}: expected a whole number of at least 1")
    return int(value), rest


def _project_error(err: BaseException | None) -> SeqImagingError | None:
    """The first SeqImagingError in ``err``'s chain (jsonargparse wraps what it builds)."""
    while err is not None and not isinstance(err, SeqImagingError):
        err = err.__cause__ or err.__context__
    return err


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqimaging`` command."""
    # a deprecation inside Lightning itself, printed on every fit; nothing a user can act on
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        threads, words = _leading_threads(parser, words)
        set_threads(threads)
        keep_freed_memory()
        if words and words[0] in LIGHTNING_COMMANDS:
            from seqimaging.training_cli import run_lightning

            if argv is None:  # LightningCLI reads sys.argv itself
                sys.argv[1:] = words
            run_lightning(None if argv is None else words)
            return
        args = parser.parse_args(words)
        args.func(args)
    except Exception as err:
        cause = _project_error(err)
        if cause is None:
            raise
        parser.exit(2, f"seqimaging: error: {cause}\n")
