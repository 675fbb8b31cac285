"""DICOM cine: a folder holding one series of single-frame images, or one enhanced
(multi-frame) file. Both become a list of 2-D frames with a position, an orientation and a
trigger time, which :func:`_assemble` sorts into a cube:

- slices by their position along the slice normal, ``ImagePositionPatient · (row direction
  × column direction)``; SliceLocation is not used, as it is wrong on some scanners (on
  the Sunnybrook GE series its step is 6.72 mm where the slices are 10 mm apart);
- phases by trigger time, *per slice*: trigger times differ slightly between slices
  acquired in separate breath-holds, and every slice must have the same number of phases.
"""

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from seqimaging._optional import require
from seqimaging.errors import DataError
from seqimaging.medical.cube import check_geometry, check_interval, cine_cube

_POSITION_DECIMALS = 2  # frames within 0.01 mm along the normal are one slice
_ORTHOGONAL = 1e-3  # |cos| of the angle between row and column directions (0.06 degrees)
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class _Frame:
    """One 2-D image of a cine and where it lies in space and in the cardiac cycle."""

    pixels: np.ndarray  # [rows, columns], rescaled
    position: np.ndarray  # ImagePositionPatient, LPS mm
    orientation: np.ndarray  # ImageOrientationPatient: row direction, column direction
    pixel_spacing: tuple[float, float]  # between rows, between columns (mm)
    slice_thickness: float
    trigger_ms: float
    where: str  # the file (and frame), for errors


def read_dicom_series(folder: Path) -> xr.DataArray:
    """Read a folder holding one DICOM cine series (slices x phases) as a cube.

    Every file that is not hidden must be a DICOM image of the same series, each image
    once (SOPInstanceUID).

    Raises:
        DataError: an empty folder, a file that is not DICOM, several series, two files of
            one SOPInstanceUID, or any problem :func:`_pixels` or :func:`_assemble` finds.
    """
    pydicom = require("pydicom", extra="medical")
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataError(f"{folder}: the folder is empty; expected the DICOM files of a cine series")
    frames, series, instances = [], set(), {}
    for path in files:
        ds = _read(pydicom, path)
        if _frame_count(ds, path) > 1:
            raise DataError(
                f"{path}: a multi-frame DICOM in a folder of a series; expected single-frame "
                f"images here, or pass the multi-frame file itself to read_cine"
            )
        series.add(str(ds.get("SeriesInstanceUID")))
        _check_instance(ds, path, instances)
        frames.append(
            _Frame(
                pixels=_rescale(_pixels(ds, path, 1), ds, path),
                position=_numbers(_get(ds, "ImagePositionPatient", path), 3, path),
                orientation=_orientation(_get(ds, "ImageOrientationPatient", path), path),
                pixel_spacing=tuple(_numbers(_get(ds, "PixelSpacing", path), 2, path)),
                slice_thickness=_optional(ds, "SliceThickness", np.nan, path),
                trigger_ms=float(_numbers(_get(ds, "TriggerTime", path), 1, path)[0]),
                where=str(path),
            )
        )
    if len(series) > 1:
        raise DataError(
            f"{folder}: holds {len(series)} series (SeriesInstanceUID); expected one cine "
            f"series per folder"
        )
    return _assemble(frames, Path(folder))


def read_dicom_multiframe(path: Path) -> xr.DataArray:
    """Read an enhanced (multi-frame) DICOM cine as a cube.

    Position, orientation, pixel spacing, trigger delay and rescale are looked up in each
    frame's Per-frame Functional Groups, then in the Shared Functional Groups.

    Raises:
        DataError: not DICOM, a tag missing from both, or any problem :func:`_assemble` finds.
    """
    pydicom = require("pydicom", extra="medical")
    ds = _read(pydicom, path)
    n = _frame_count(ds, path)
    if n < 2:
        raise DataError(f"{path}: has {n} frame(s); expected a multi-frame (enhanced) DICOM cine")
    pixels = _pixels(ds, path, n)
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) != n:
        raise DataError(
            f"{path}: has {len(per_frame)} Per-frame Functional Groups for {n} frames; "
            f"expected one per frame"
        )
    frames = []
    for i, groups in enumerate(per_frame):
        where = f"{path} (frame {i + 1})"
        find = partial(_functional, groups, shared, where=where)

        slope = find("PixelValueTransformationSequence", "RescaleSlope", 1.0)
        intercept = find("PixelValueTransformationSequence", "RescaleIntercept", 0.0)
        thickness = find("PixelMeasuresSequence", "SliceThickness", np.nan)
        trigger = find("CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime")
        frames.append(
            _Frame(
                pixels=pixels[i].astype(np.float32) * _numbers(slope, 1, where)[0]
                + _numbers(intercept, 1, where)[0],
                position=_numbers(find("PlanePositionSequence", "ImagePositionPatient"), 3, where),
                orientation=_orientation(
                    find("PlaneOrientationSequence", "ImageOrientationPatient"), where
                ),
                pixel_spacing=tuple(
                    _numbers(find("PixelMeasuresSequence", "PixelSpacing"), 2, where)
                ),
                slice_thickness=float(_numbers(thickness, 1, where, nan=True)[0]),
                trigger_ms=float(_numbers(trigger, 1, where)[0]),
                where=where,
            )
        )
    return _assemble(frames, Path(path))


def _assemble(frames: list[_Frame], source: Path) -> xr.DataArray:
    """Sort frames into ``[time, z, y, x]`` and work out spacing, affine and times.

    Raises:
        DataError: frames of different orientation, pixel spacing or size; one phase per
            slice (3-D, not a cine); unequal phase counts or repeated trigger times on a
            slice; unevenly spaced slices; sizes, voxel sizes or a time between phases
            beyond the limits of :mod:`seqimaging.medical.cube`.
    """
    first = frames[0]
    for frame in frames[1:]:
        for what, a, b in [
            ("ImageOrientationPatient", frame.orientation, first.orientation),
            ("PixelSpacing", frame.pixel_spacing, first.pixel_spacing),
            ("image size", frame.pixels.shape, first.pixels.shape),
        ]:
            if np.shape(a) != np.shape(b) or not np.allclose(a, b, atol=1e-4):
                raise DataError(
                    f"{frame.where}: {what} {np.round(a, 6).tolist()} differs from "
                    f"{np.round(b, 6).tolist()} of {first.where}; expected one stack of parallel "
                    f"slices with the same geometry"
                )
    row_dir, col_dir = first.orientation[:3], first.orientation[3:]
    normal = np.cross(row_dir, col_dir)
    along = np.round([frame.position @ normal for frame in frames], _POSITION_DECIMALS)
    positions = np.unique(along)
    slices = [
        sorted((f for f, d in zip(frames, along, strict=True) if d == p), key=_trigger)
        for p in positions
    ]
    counts = [len(s) for s in slices]
    if len(set(counts)) > 1:
        found = ", ".join(f"{c} at {p:g} mm" for c, p in zip(counts, positions, strict=True))
        raise DataError(
            f"{source}: slices have unequal numbers of phases ({found} along the slice "
            f"normal); expected the same phases on every slice"
        )
    if counts[0] < 2:
        raise DataError(
            f"{source}: one phase per slice ({len(positions)} slices), a 3-D volume; expected "
            f"a 4-D cine with several phases (TriggerTime) per slice"
        )
    for s, p in zip(slices, positions, strict=True):
        triggers = [f.trigger_ms for f in s]
        if len(set(triggers)) < len(triggers):
            raise DataError(
                f"{source}: the slice at {p:g} mm along the normal has repeated trigger times "
                f"{triggers}; expected one image per phase and slice"
            )
    steps = np.diff(positions)
    dz = float(steps.mean()) if len(steps) else first.slice_thickness
    if len(steps) and np.ptp(steps) > 0.01 * dz + 0.01:
        raise DataError(
            f"{source}: slices are unevenly spaced along the normal (steps {np.round(steps, 3)} "
            f"mm); expected evenly spaced slices (is a slice missing?)"
        )
    d_row, d_col = first.pixel_spacing
    check_geometry((counts[0], len(positions), *first.pixels.shape), (dz, d_row, d_col), source)
    times = np.array([[f.trigger_ms for f in s] for s in slices]).mean(axis=0)
    interval = float(np.diff(times).mean())
    check_interval(interval, source)
    lps = np.eye(4)
    lps[:3, 0] = row_dir * d_col  # x = column index, along the row direction
    lps[:3, 1] = col_dir * d_row  # y = row index
    lps[:3, 2] = normal * dz
    lps[:3, 3] = slices[0][0].position
    values = np.stack([np.stack([f.pixels for f in s]) for s in slices], axis=1)
    return cine_cube(
        values.astype(np.float32),
        times_ms=times,
        spacing=(dz, d_row, d_col),
        affine=_LPS_TO_RAS @ lps,
        frame_interval_ms=interval,
        source=source,
    )


def _trigger(frame: _Frame) -> float:
    return frame.trigger_ms


def _read(pydicom, path: Path):
    """``pydicom.dcmread(path)`` with every element decoded, or a project error for files
    that are not DICOM or are damaged."""
    try:
        ds = pydicom.dcmread(path)
        ds.walk(lambda *_: None)  # decode every element now, while the error can name the file
        return ds
    except Exception as err:  # damaged files raise many types from deep inside pydicom
        raise DataError(
            f"{path}: cannot be read as DICOM ({type(err).__name__}: {err}); expected a DICOM "
            f"image file"
        ) from err


def _check_instance(ds, path: Path, seen: dict[str, Path]) -> None:
    """Raise :class:`DataError` where ``path`` has the SOPInstanceUID of a file in ``seen``
    (UID to file), else add it there; images without one are not compared."""
    uid = str(ds.get("SOPInstanceUID") or "")
    if uid in seen:
        raise DataError(
            f"{path}: has the SOPInstanceUID {uid} of {seen[uid]}; expected each image of a "
            f"series once (a copied or re-exported file?)"
        )
    if uid:
        seen[uid] = path


def _pixels(ds, path: Path, frames: int) -> np.ndarray:
    """The pixel array of ``ds``, ``[rows, columns]`` for one frame, else
    ``[frames, rows, columns]``; a :class:`DataError` for missing, mis-sized or
    undecodable pixel data."""
    if not ds.get("PixelData"):
        raise DataError(f"{path}: has no or empty Pixel Data; expected a DICOM image")
    _check_length(ds, path)
    try:
        pixels = ds.pixel_array
    except Exception as err:  # pydicom raises many types for unsupported or damaged data
        raise DataError(
            f"{path}: the pixel data cannot be decoded ({type(err).__name__}: {err}); "
            f"expected uncompressed or a transfer syntax pydicom can decode"
        ) from err
    expected = (ds.Rows, ds.Columns) if frames == 1 else (frames, ds.Rows, ds.Columns)
    if pixels.shape != expected:
        raise DataError(
            f"{path}: the pixel array is {list(pixels.shape)}; expected {list(expected)} "
            f"(NumberOfFrames x Rows x Columns, one sample per pixel)"
        )
    return pixels


def _check_length(ds, path: Path) -> None:
    """Raise :class:`DataError` where uncompressed Pixel Data is not the length Rows,
    Columns, SamplesPerPixel, BitsAllocated and NumberOfFrames give: pydicom would read
    the excess as further frames, or drop it with a warning. Tags it cannot use are left
    for decoding to report."""
    utils = require("pydicom.pixels.utils", extra="medical")
    try:
        compressed = ds.file_meta.TransferSyntaxUID.is_encapsulated
        expected = utils.get_expected_length(ds, "bytes")
    except (AttributeError, TypeError, ValueError):  # missing or odd tags: decoding names them
        return
    if compressed or not isinstance(expected, int):  # e.g. SamplesPerPixel read as text
        return
    actual = len(ds.PixelData)
    if actual not in (expected, expected + expected % 2):  # odd lengths are padded by a byte
        raise DataError(
            f"{path}: Pixel Data holds {actual:,} bytes; expected {expected:,} (Rows "
            f"{ds.Rows} x Columns {ds.Columns} x SamplesPerPixel {ds.SamplesPerPixel} x "
            f"BitsAllocated {ds.BitsAllocated} / 8 x {_frame_count(ds, path)} frame(s))"
        )


def _rescale(pixels: np.ndarray, ds, path: Path) -> np.ndarray:
    """Pixels times RescaleSlope plus RescaleIntercept (1 and 0 when absent)."""
    slope = _optional(ds, "RescaleSlope", 1.0, path)
    intercept = _optional(ds, "RescaleIntercept", 0.0, path)
    return pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)


def _get(ds, keyword: str, path: Path) -> Any:
    """The data element ``keyword``, or a :class:`DataError` when absent or empty."""
    if keyword not in ds or ds[keyword].value in (None, ""):
        raise DataError(f"{path}: no {keyword}; expected it in every image of a cine series")
    return ds[keyword]


def _numbers(element: Any, count: int, where: Path | str, nan: bool = False) -> np.ndarray:
    """The ``count`` finite numbers of a data element (or of a plain value), else a
    :class:`DataError` naming it; ``nan`` lets NaN (unknown) through."""
    value = getattr(element, "value", element)
    keyword = getattr(element, "keyword", "a value")
    items = [value] if isinstance(value, str | bytes | int | float) else value
    try:
        out = np.array([float(v) for v in items], dtype=np.float64)
    except (TypeError, ValueError):
        out = np.array([])
    ok = np.isfinite(out) | (nan & np.isnan(out))
    if out.shape != (count,) or not ok.all():
        raise DataError(f"{where}: {keyword} is {value!r}; expected {count} finite number(s) there")
    return out


def _orientation(element: Any, where: Path | str) -> np.ndarray:
    """ImageOrientationPatient as two unit vectors, row direction then column direction:
    vectors that are merely scaled are normalised; zero, non-finite or non-orthogonal
    ones are a :class:`DataError`."""
    cosines = _numbers(element, 6, where)
    row, col = cosines[:3], cosines[3:]
    lengths = np.array([np.linalg.norm(row), np.linalg.norm(col)])
    if not (np.isfinite(lengths) & (lengths > 0)).all():
        raise DataError(
            f"{where}: ImageOrientationPatient {cosines.tolist()} has a zero or non-finite "
            f"direction; expected two unit vectors (row, column direction cosines)"
        )
    cosine = float(np.clip(row @ col / lengths.prod(), -1, 1))
    if abs(cosine) > _ORTHOGONAL:
        raise DataError(
            f"{where}: ImageOrientationPatient {cosines.tolist()} has row and column "
            f"directions at {np.degrees(np.arccos(cosine)):.3f} degrees; expected them "
            f"perpendicular"
        )
    return np.concatenate([row / lengths[0], col / lengths[1]])


def _optional(ds, keyword: str, default: float, path: Path) -> float:
    """A one-number tag, ``default`` when absent or empty."""
    if keyword not in ds or ds[keyword].value in (None, ""):
        return default
    return float(_numbers(ds[keyword], 1, path)[0])


def _frame_count(ds, path: Path) -> int:
    """NumberOfFrames, 1 when absent or empty."""
    return int(_optional(ds, "NumberOfFrames", 1.0, path))


def _functional(
    groups, shared, sequence: str, keyword: str, default: Any = None, *, where: str
) -> Any:
    """``keyword`` in the first item of ``sequence`` of a frame's functional groups, else of
    the shared ones, else ``default``; a :class:`DataError` when that is None too."""
    for source in (groups, shared):
        item = _first(source, sequence)
        if item is not None and keyword in item:
            return item[keyword]
    if default is None:
        raise DataError(
            f"{where}: no {keyword} in {sequence} of the per-frame or shared functional "
            f"groups; expected it in an enhanced MR cine"
        )
    return default


def _first(ds, keyword: str):
    """The first item of sequence ``keyword`` of ``ds``, or None."""
    sequence = ds.get(keyword) if ds is not None else None
    return sequence[0] if sequence else None
