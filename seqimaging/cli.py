"""The ``seqimaging`` command line."""

import argparse
from pathlib import Path

from seqimaging.errors import SeqImagingError


def _bench(args: argparse.Namespace) -> None:
    from seqimaging.bench import BENCHMARKS

    if args.name == "list":
        for name, (_, summary) in BENCHMARKS.items():
            print(f"{name:20s} {summary}")
        return
    if args.name not in BENCHMARKS:
        raise SeqImagingError(
            f"unknown benchmark {args.name!r}; expected one of: {', '.join(BENCHMARKS)} "
            "(see `seqimaging bench list`)"
        )
    run, _ = BENCHMARKS[args.name]
    run(args.out / args.name, repeats=args.repeats, device=args.device)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqimaging", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    bench = commands.add_parser("bench", help="run a benchmark, or `list` them")
    bench.add_argument("name", help="benchmark name, or `list`")
    bench.add_argument("--out", type=Path, default=Path("runs/bench"), help="output folder")
    bench.add_argument("--repeats", type=int, default=7, help="timed runs per measurement")
    bench.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqimaging`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SeqImagingError as err:
        parser.exit(2, f"seqimaging: error: {err}\n")
