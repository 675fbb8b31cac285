"""Coverage-guided fuzzing of the NIfTI, DICOM and GeoTIFF readers: a test tool, run as a script.

Each target runs in its own process under atheris (libFuzzer for Python), for a bounded
time, starting from tiny valid files. Every input is written to a file and read the way
training reads it (header, then voxels or pixels); a DICOM input is a whole series, its
files one after another, each starting with the 128-byte preamble and ``DICM``, and is
written as a folder of files. An input *crashes* the reader when it
raises anything but a :class:`~seqimaging.errors.SeqImagingError`, runs past the
per-input timeout, or kills the process; such inputs are saved under ``crashes/``.

Needs ``atheris`` (in the ``test`` extra). It writes ``results.json`` (executions,
coverage, crashing inputs per target, and the environment), ``results.md`` and the
crashing inputs under ``--out``::

    python tests/reliability/fuzz_readers.py --seconds 60 --out runs/fuzz-readers

It also writes the tiny DICOM series the DICOM tests start from (:func:`write_dicom_series`).
"""

import argparse
import gzip
import hashlib
import importlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from importlib import metadata
from pathlib import Path

from seqimaging._optional import require
from seqimaging.files import write_json
from seqimaging.runs import environment

TARGETS = ("nifti", "dicom", "geotiff")
PER_INPUT_SECONDS = 10
MAX_LEN = 8192
SLICES, PHASES, ROWS, COLS = 2, 3, 4, 5  # of the DICOM series
DICOM_START = b"\0" * 128 + b"DICM"  # the preamble and magic every DICOM file starts with
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"


def dicom_image(series: str, z: int, t: int):
    """Image ``z, t`` of a valid tiny MR cine series: slices 8 mm apart along z, phases
    40 ms apart, pixels 1.5 x 1.25 mm, ``ROWS x COLS`` pixels of value ``10 z + t``."""
    import numpy as np

    dataset = require("pydicom.dataset", extra="medical")
    uid = require("pydicom.uid", extra="medical")
    ds = dataset.Dataset()
    ds.file_meta = dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = MR_IMAGE
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = uid.generate_uid(
        entropy_srcs=[series, str(z), str(t)]
    )
    ds.SeriesInstanceUID = series
    ds.InstanceNumber = z * PHASES + t + 1
    ds.Rows, ds.Columns = ROWS, COLS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [0, 0, 8.0 * z]
    ds.PixelSpacing = [1.5, 1.25]
    ds.SliceThickness = 8.0
    ds.TriggerTime = 40.0 * t
    ds.PixelData = np.full((ROWS, COLS), 10 * z + t, np.uint16).tobytes()
    return ds


def write_dicom_series(folder: Path, series: str | None = None) -> list[Path]:
    """The ``SLICES x PHASES`` files ``im<z><t>.dcm`` of :func:`dicom_image` in ``folder``
    (a new SeriesInstanceUID unless ``series``)."""
    series = series or require("pydicom.uid", extra="medical").generate_uid()
    paths = []
    for z in range(SLICES):
        for t in range(PHASES):
            path = Path(folder) / f"im{z}{t}.dcm"
            dicom_image(series, z, t).save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def seeds(target: str) -> dict[str, bytes]:
    """Tiny valid files to start fuzzing from, by name."""
    import numpy as np

    if target == "nifti":
        nib = require("nibabel", extra="medical")
        image = nib.Nifti1Image(np.arange(72, dtype=np.int16).reshape(4, 3, 2, 3), np.eye(4))
        image.header.set_zooms((1.5, 1.25, 8.0, 40.0))
        image.header.set_xyzt_units("mm", "msec")
        raw = image.to_bytes()
        return {"cine.nii": raw, "cine.nii.gz": gzip.compress(raw, mtime=0)}
    if target == "dicom":
        folder = Path(tempfile.mkdtemp(prefix="dicom-seed-"))
        files = write_dicom_series(folder, series="1.2.3.4")
        raw = b"".join(path.read_bytes() for path in files)
        shutil.rmtree(folder)
        return {"series.bin": raw}
    rasterio = require("rasterio", extra="geo")
    from rasterio.io import MemoryFile

    out = {}
    for dtype, nodata in [("uint16", 65535), ("float32", None)]:
        with MemoryFile() as memory:
            with memory.open(
                driver="GTiff",
                width=6,
                height=5,
                count=2,
                dtype=dtype,
                crs="EPSG:32632",
                transform=rasterio.transform.from_origin(500000, 6000000, 10, 10),
                nodata=nodata,
            ) as dst:
                dst.write(np.arange(60, dtype=dtype).reshape(2, 5, 6))
            out[f"{dtype}.tif"] = memory.read()
    return out


def _reader(target: str):
    """A function reading one input (a file, or a DICOM series folder) the way training does."""
    if target == "nifti":
        from seqimaging.medical.nifti import read_nifti_cine

        return lambda path: read_nifti_cine(path).values
    if target == "dicom":
        from seqimaging.medical.dicom import read_dicom_series

        return lambda folder: read_dicom_series(folder).values
    from seqimaging.geo.stack import read_stack

    return lambda path: read_stack([path]).values


def _write_input(target: str, data: bytes, scratch: Path) -> Path:
    """Write fuzz input ``data`` where its reader reads it: a file, or for DICOM a folder
    of the files ``data`` holds one after another (each from ``DICOM_START``)."""
    if target == "dicom":
        folder = scratch / "series"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for i, part in enumerate(data.split(DICOM_START)[1:]):
            (folder / f"im{i:02d}.dcm").write_bytes(DICOM_START + part)
        return folder
    gz = data[:2] == b"\x1f\x8b"
    path = (
        scratch
        / {"nifti": "cine.nii.gz" if gz else "cine.nii", "geotiff": "x_20240101.tif"}[target]
    )
    path.write_bytes(data)
    return path


def _child(target: str, folder: Path, libfuzzer_args: list[str]) -> None:
    """Fuzz ``target`` in this process; record crashing inputs under ``folder``."""
    atheris = require("atheris", extra="test")
    import xarray  # noqa: F401  (imported uninstrumented: coverage of the readers only)

    from seqimaging.errors import SeqImagingError

    libraries = {
        "nifti": ["nibabel"],
        "dicom": ["pydicom"],
        "geotiff": ["rasterio", "rasterio.vrt", "rasterio.warp"],
    }
    with atheris.instrument_imports(include=["seqimaging", libraries[target][0]]):
        for name in libraries[target]:  # the readers import them on first use
            importlib.import_module(name)
        read = _reader(target)
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-"))
    crashes = folder / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")  # pydicom warns of every odd value; errors are what count

    def one_input(data: bytes) -> None:
        try:
            read(_write_input(target, data, scratch))
        except SeqImagingError:
            pass
        except Exception as err:
            digest = hashlib.sha1(data).hexdigest()[:12]
            (crashes / f"{target}-{digest}.bin").write_bytes(data)
            frame = traceback.extract_tb(err.__traceback__)[-1]
            kind = f"{type(err).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            with open(folder / f"{target}-crashes.jsonl", "a") as log:
                log.write(json.dumps({"input": digest, "kind": kind, "message": str(err)}) + "\n")

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def fuzz(target: str, seconds: float, folder: Path) -> dict:
    """Fuzz one target in a subprocess for ``seconds``; executions and crashes found."""
    corpus = folder / f"{target}-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in seeds(target).items():
        (corpus / name).write_bytes(data)
    command = [
        sys.executable,
        __file__,
        "--child",
        target,
        "--out",
        str(folder),
        "--",
        f"-max_total_time={max(1, round(seconds))}",
        f"-timeout={PER_INPUT_SECONDS}",
        f"-max_len={MAX_LEN}",
        "-rss_limit_mb=4096",
        f"-artifact_prefix={folder / 'crashes'}/{target}-",
        str(corpus),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    wall = time.perf_counter() - start
    log = folder / f"{target}-crashes.jsonl"
    caught = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    runs = re.findall(r"Done (\d+) runs in", done.stderr)
    progress = re.findall(r"^#(\d+)\s.*?cov: (\d+)", done.stderr, flags=re.MULTILINE)
    died = done.returncode != 0  # a timeout, a deadly signal or running out of memory
    return {
        "target": target,
        "seconds": seconds,
        "wall_seconds": wall,
        "executions": int(runs[-1]) if runs else (int(progress[-1][0]) if progress else 0),
        "coverage": int(progress[-1][1]) if progress else 0,
        "corpus_files": len(list(corpus.iterdir())),
        "crashing_inputs": len(caught) + died,
        "crash_kinds": sorted({c["kind"] for c in caught} | ({"process died"} if died else set())),
        "exit_code": done.returncode,
        "log_tail": done.stderr[-2000:] if died else "",
    }


def format_table(result: dict) -> str:
    lines = [
        "| target | seconds | executions | exec/s | coverage | crashing inputs | kinds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["targets"]:
        rate = row["executions"] / max(row["wall_seconds"], 1e-9)
        lines.append(
            f"| {row['target']} | {row['seconds']:g} | {row['executions']} | {rate:.0f} "
            f"| {row['coverage']} | {row['crashing_inputs']} "
            f"| {'; '.join(row['crash_kinds']) or '-'} |"
        )
    return "\n".join(lines)


def run(
    out: Path | None = None,
    *,
    seconds: float = 60.0,
    targets: tuple[str, ...] = TARGETS,
) -> dict:
    """Fuzz each target for ``seconds``; print a table, write ``results.json`` and
    ``results.md`` and the crashing inputs under ``out``."""
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "fuzz-readers",
        "targets": [fuzz(t, seconds, folder) for t in targets],
        "environment": environment() | {"atheris": metadata.version("atheris")},
    }
    print(format_table(result))
    write_json(folder / "results.json", result)
    (folder / "results.md").write_text(f"# fuzz-readers\n\n{format_table(result)}\n")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--out", type=Path, default=Path("runs/fuzz-readers"))
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=TARGETS)
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        _child(args.child, args.out, [a for a in rest if a != "--"])
    else:
        run(args.out, seconds=args.seconds, targets=tuple(args.targets))


if __name__ == "__main__":
    main()
