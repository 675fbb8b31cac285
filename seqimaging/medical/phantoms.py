"""Beating-heart phantoms in the ACDC and M&Ms layouts, for examples and tests without real data.

:func:`make_acdc_like` writes ``root/training/patientNNN/`` (and optionally
``root/testing/``) folders, each with a 4D NIfTI ``patientNNN_4d.nii.gz`` (x, y, z, t;
int16), an ``Info.cfg`` and the ground-truth masks at ED and ES, for the 5 ACDC groups.
:func:`make_mnms_like` writes the same subjects in the M&Ms layout. The groups differ as
the real ones do, mostly in how the heart moves:

=====  =====================================  ==============================================
group  shape (ranges overlap between groups)  motion
=====  =====================================  ==============================================
NOR    LV cavity radius 21–27 mm, wall 6–10   LV ejection fraction 55–65 %, RV EF 50–60 %
MINF   radius 22–28, wall 6–10                remote LV EF 50–62 %; one akinetic segment of
                                              100–150° that does not move or thicken
DCM    radius 24–31 (dilated), wall 5–8       LV EF 10–25 %
HCM    radius 18–24, wall 9–14 (thick)        LV EF 76–88 % (hyperdynamic)
RV     radius 21–27, wall 6–10; RV 1.3–1.8x   LV EF 55–65 %, RV EF 10–25 %
=====  =====================================  ==============================================

All lengths are then multiplied by a body-size factor (0.85–1.15), so a large normal heart
looks like a small dilated one in any one frame. Per subject, the heart's position,
orientation, the phase count T (12–35, one cycle starting at end-diastole), slice count
(6–8) and thickness (6–10 mm), pixel size (1.9–2.5 mm, coarser than real cine to keep
the files small), timing of end-systole, surrounding anatomy, intensity scale, coil
shading and Rician noise all vary. Edges are anti-aliased. The masks label each voxel
with the structure covering most of it.

Example:
    >>> from seqimaging.medical import ACDC
    >>> root = make_acdc_like("phantoms", n_per_class=4, seed=0)  # doctest: +SKIP
    >>> len(ACDC(root, "training"))  # doctest: +SKIP
    20
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqimaging._optional import require
from seqimaging.errors import SeqImagingError

GROUPS = ("NOR", "MINF", "DCM", "HCM", "RV")

# group: (LV cavity radius mm, wall mm, LV EF, RV size factor, RV EF, akinetic segment deg)
_RANGES = {
    "NOR": ((21, 27), (6, 10), (0.55, 0.65), (0.9, 1.3), (0.50, 0.60), (0, 0)),
    "MINF": ((22, 28), (6, 10), (0.50, 0.62), (0.9, 1.3), (0.50, 0.60), (100, 150)),
    "DCM": ((24, 31), (5, 8), (0.10, 0.25), (0.9, 1.3), (0.50, 0.60), (0, 0)),
    "HCM": ((18, 24), (9, 14), (0.76, 0.88), (0.9, 1.3), (0.50, 0.60), (0, 0)),
    "RV": ((21, 27), (6, 10), (0.55, 0.65), (1.3, 1.8), (0.10, 0.25), (0, 0)),
}
MATRIX = 64  # pixels per side
ACDC_LABELS = ("background", "RV", "MYO", "LV")
"""Mask labels of :func:`make_acdc_like` (ACDC's: 1 RV cavity, 2 myocardium, 3 LV cavity)."""
MNMS_LABELS = ("background", "LV", "MYO", "RV")
"""Mask labels of :func:`make_mnms_like` (M&Ms's: 1 LV cavity, 2 myocardium, 3 RV cavity)."""
MNMS_PATHOLOGY = {"NOR": "NOR", "MINF": "IHD", "DCM": "DCM", "HCM": "HCM", "RV": "ARV"}
"""The M&Ms pathology each phantom group is written as."""
MNMS_CSV = "211230_M&Ms_Dataset_information_diagnosis_opendataset.csv"
_VENDORS = (("Siemens", "A", 1), ("Philips", "B", 2), ("GE", "C", 4), ("Canon", "D", 5))


@dataclass
class _Heart:
    """One subject's anatomy (mm, radians) and cycle."""

    radius: float
    wall: float
    ef: float
    rv_size: float
    rv_ef: float
    akinetic_width: float
    akinetic_angle: float
    centre: np.ndarray  # (y, x) mm
    rv_angle: float
    es_phase: float  # fraction of the cycle
    relax: float  # fraction of the cycle the LV takes to refill


def make_acdc_like(
    root: str | Path, n_per_class: int = 20, seed: int = 0, *, test_per_class: int = 0
) -> Path:
    """Write ``5 * n_per_class`` phantom patients in the ACDC layout under ``root/training``,
    and ``5 * test_per_class`` more under ``root/testing``.

    Patients are ``patient001 ...`` with groups in the order of :data:`GROUPS`, repeated;
    the testing patients' numbers follow the training ones (as ACDC's 101–150 follow
    001–100). ``Info.cfg`` gives ``ED: 1`` (1-based, as ACDC), ``ES``, ``Group``,
    ``Height``, ``NbFrame`` and ``Weight``; ``patientNNN_frameMM_gt.nii.gz`` (uint8,
    labels :data:`ACDC_LABELS`) are the masks at ED and ES. The same ``seed`` writes the
    same voxels, and patient ``k`` is the same whatever ``test_per_class``.

    Args:
        root: folder to write (created); ``root/training`` and ``root/testing`` must not
            hold patients yet.
        n_per_class: training patients per group.
        seed: seed of everything random.
        test_per_class: testing patients per group.

    Returns:
        ``root``, to pass to :class:`~seqimaging.medical.ACDC`.

    Raises:
        SeqImagingError: ``n_per_class`` below 1, ``test_per_class`` below 0, or a split
            folder that already holds patients.
    """
    nib = require("nibabel", extra="medical")
    _check_counts(n_per_class, test_per_class)
    root = Path(root)
    for split in ("training", "testing"):
        if any((root / split).glob("patient*")):
            raise SeqImagingError(
                f"{root / split}: already holds patients; expected a new or empty folder"
            )
    for index, group, rng, cine, masks, zooms, es in _subjects(
        5 * (n_per_class + test_per_class), seed
    ):
        name = f"patient{index + 1:03d}"
        folder = root / ("training" if index < 5 * n_per_class else "testing") / name
        folder.mkdir(parents=True, exist_ok=True)
        _save(nib, cine, zooms, folder / f"{name}_4d.nii.gz")
        for phase, mask in zip((0, es), masks, strict=True):
            _save(nib, mask, zooms, folder / f"{name}_frame{phase + 1:02d}_gt.nii.gz")
        info = {
            "ED": 1,
            "ES": es + 1,
            "Group": group,
            "Height": round(rng.uniform(150, 195), 1),
            "NbFrame": cine.shape[0],
            "Weight": round(rng.uniform(50, 110), 1),
        }
        (folder / "Info.cfg").write_text("".join(f"{k}: {v}\n" for k, v in info.items()))
    return root


def make_mnms_like(
    root: str | Path, n_per_class: int = 20, seed: int = 0, *, test_per_class: int = 0
) -> Path:
    """Write the subjects of :func:`make_acdc_like` (same ``seed``, same hearts) in the M&Ms
    layout: ``root/Training/Labeled/<code>/`` and ``root/Testing/<code>/``.

    Each folder holds ``<code>_sa.nii.gz`` (x, y, z, t; int16), its cycle rolled to start at
    a random phase, and ``<code>_sa_gt.nii.gz``, the same shape in uint8, with masks
    (labels :data:`MNMS_LABELS`) at ED and ES and zeros elsewhere. ``root/``:data:`MNMS_CSV`
    lists every subject with the M&Ms columns: 0-based ``ED`` and ``ES``, the group as
    ``Pathology`` (:data:`MNMS_PATHOLOGY`), vendors and centres in turn, and a random
    age, sex, height and weight. Codes are ``P00001 ...``, training first.

    Args:
        root: folder to write (created); must not hold :data:`MNMS_CSV` yet.
        n_per_class: training subjects per group.
        seed: seed of everything random.
        test_per_class: testing subjects per group.

    Returns:
        ``root``, to pass to :class:`~seqimaging.medical.MnMs` with ``root / MNMS_CSV``.

    Raises:
        SeqImagingError: ``n_per_class`` below 1, ``test_per_class`` below 0, or
            :data:`MNMS_CSV` already in ``root``.
    """
    nib = require("nibabel", extra="medical")
    _check_counts(n_per_class, test_per_class)
    root = Path(root)
    if (root / MNMS_CSV).exists():
        raise SeqImagingError(f"{root}: already holds {MNMS_CSV}; expected a new or empty folder")
    to_mnms = np.array([MNMS_LABELS.index(name) for name in ACDC_LABELS])
    rows = []
    for index, group, rng, cine, masks, zooms, es in _subjects(
        5 * (n_per_class + test_per_class), seed
    ):
        code = f"P{index + 1:05d}"
        split = "Training/Labeled" if index < 5 * n_per_class else "Testing"
        folder = root / split / code
        folder.mkdir(parents=True, exist_ok=True)
        ed = int(rng.integers(cine.shape[0]))
        es = (es + ed) % cine.shape[0]
        truth = np.zeros(cine.shape, np.uint8)
        truth[[ed, es]] = to_mnms[masks]
        _save(nib, np.roll(cine, ed, axis=0), zooms, folder / f"{code}_sa.nii.gz")
        _save(nib, truth, zooms, folder / f"{code}_sa_gt.nii.gz")
        vendor_name, vendor, centre = _VENDORS[index % len(_VENDORS)]
        rows.append(
            f"{code},{vendor_name},{vendor},{centre},{ed},{es},{int(rng.integers(18, 80))},"
            f"{MNMS_PATHOLOGY[group]},{'FM'[int(rng.integers(2))]},"
            f"{rng.uniform(150, 195):.1f},{rng.uniform(50, 110):.1f}\n"
        )
    header = "External code,VendorName,Vendor,Centre,ED,ES,Age,Pathology,Sex,Height,Weight\n"
    (root / MNMS_CSV).write_text(header + "".join(rows))
    return root


def _check_counts(n_per_class: int, test_per_class: int) -> None:
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise SeqImagingError(f"n_per_class must be a positive int, got {n_per_class!r}")
    if not isinstance(test_per_class, int) or test_per_class < 0:
        raise SeqImagingError(f"test_per_class must be an int >= 0, got {test_per_class!r}")


def _subjects(count: int, seed: int):
    """``(index, group, rng, cine, masks, zooms, es)`` of subjects ``0 .. count - 1``.

    Subject ``k`` has its own generator, the ``k``-th child of ``SeedSequence(seed)``, so it
    is the same whatever ``count``; ``rng`` is left for the caller's further draws.
    """
    for index, sequence in enumerate(np.random.SeedSequence(seed).spawn(count)):
        rng = np.random.default_rng(sequence)
        group = GROUPS[index % len(GROUPS)]
        yield index, group, rng, *_subject(group, rng)


def _save(nib, volume: np.ndarray, zooms: tuple, path: Path) -> None:
    """``volume`` ``[(T,) Z, Y, X]`` as a NIfTI with axes (x, y, z(, t)) and ``zooms``."""
    image = nib.Nifti1Image(volume.T, np.diag([*zooms[:3], 1.0]))
    image.header.set_zooms(zooms[: volume.ndim])
    image.header.set_xyzt_units("mm", "msec")
    nib.save(image, path)


def _subject(group: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, tuple, int]:
    """One subject's int16 cine ``[T, Z, Y, X]``, its uint8 masks ``[2, Z, Y, X]`` at ED and
    ES (labels :data:`ACDC_LABELS`), zooms (x, y, z mm, t ms) and ES phase."""
    n_t = int(rng.integers(12, 36))
    n_z = int(rng.integers(6, 9))
    pixel = rng.uniform(1.9, 2.5)
    thickness = rng.uniform(6, 10)
    heart = _heart(group, rng, MATRIX * pixel)
    yx = (np.indices((MATRIX, MATRIX)).transpose(1, 2, 0) + 0.5) * pixel  # pixel centres, mm
    phases = np.arange(n_t) / n_t
    contraction = _contraction(phases, heart.es_phase, heart.relax)
    background = _background(rng, yx, MATRIX * pixel)
    myocardium = rng.uniform(0.2, 0.35)
    es = int(np.argmax(contraction))
    cine = np.empty((n_t, n_z, MATRIX, MATRIX))
    masks = np.empty((2, n_z, MATRIX, MATRIX), np.uint8)
    for z in range(n_z):
        taper = np.sqrt(1 - 0.75 * (z / (n_z - 1)) ** 2)  # base (z = 0) to apex
        for t, c in enumerate(contraction):
            lv, rv, muscle = _heart_masks(heart, yx, taper, c, pixel)
            blood = lv + rv
            cine[t, z] = background * (1 - blood - muscle) + blood + myocardium * muscle
            if t in (0, es):
                masks[int(t == es), z] = np.argmax([1 - blood - muscle, rv, muscle, lv], axis=0)
    scale = rng.uniform(200, 1200)
    shading = 1 + rng.uniform(-0.25, 0.25) * (yx[..., 1] / (MATRIX * pixel) - 0.5)
    sigma = rng.uniform(0.02, 0.06)
    noisy = np.hypot(
        cine * shading + rng.normal(0, sigma, cine.shape), rng.normal(0, sigma, cine.shape)
    )
    interval = rng.uniform(700, 1100) / n_t
    zooms = (pixel, pixel, thickness, interval)
    return (noisy * scale).round().astype(np.int16), masks, zooms, es


def _heart(group: str, rng: np.random.Generator, fov: float) -> _Heart:
    radius, wall, ef, rv_size, rv_ef, akinetic = (rng.uniform(*r) for r in _RANGES[group])
    body = rng.uniform(0.85, 1.15)
    return _Heart(
        radius=radius * body,
        wall=wall * body,
        ef=ef,
        rv_size=rv_size * body,
        rv_ef=rv_ef,
        akinetic_width=np.deg2rad(akinetic),
        akinetic_angle=rng.uniform(0, 2 * np.pi),
        centre=fov / 2 + rng.uniform(-0.08, 0.08, 2) * fov + np.array([0.0, 0.1 * fov]),
        rv_angle=np.pi + rng.uniform(-0.35, 0.35),
        es_phase=rng.uniform(0.3, 0.42),
        relax=rng.uniform(0.3, 0.4),
    )


def _contraction(phases: np.ndarray, es: float, relax: float) -> np.ndarray:
    """0 at end-diastole, 1 at end-systole (phase ``es``), back to 0 after ``relax`` more."""
    systole = 0.5 * (1 - np.cos(np.pi * phases / es))
    diastole = 0.5 * (1 + np.cos(np.pi * np.clip((phases - es) / relax, 0, 1)))
    return np.where(phases <= es, systole, diastole)


def _heart_masks(
    heart: _Heart, yx: np.ndarray, taper: float, c: float, pixel: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fractions of each pixel covered by LV blood, RV blood and myocardium, at contraction
    ``c`` (0 at end-diastole, 1 at end-systole) of a slice whose radii are ``taper`` times
    the mid-ventricular ones."""
    d = yx - heart.centre
    rho = np.hypot(d[..., 0], d[..., 1])
    theta = np.arctan2(d[..., 0], d[..., 1])
    off = np.abs(np.angle(np.exp(1j * (theta - heart.akinetic_angle))))
    still = np.clip((heart.akinetic_width / 2 - off) / np.deg2rad(15) + 0.5, 0, 1)
    r_ed = heart.radius * taper
    r = r_ed * np.sqrt(1 - heart.ef * (1 - still) * c)
    outer = np.sqrt(r**2 + (r_ed + heart.wall) ** 2 - r_ed**2)  # the wall keeps its area
    lv = _cover(r - rho, pixel)
    epi = _cover(outer - rho, pixel)
    rv_scale = np.sqrt(1 - heart.rv_ef * c)
    a, b = 9.0 * heart.rv_size * taper * rv_scale, 24.0 * heart.rv_size * taper * rv_scale
    direction = np.array([np.sin(heart.rv_angle), np.cos(heart.rv_angle)])
    centre = heart.centre + direction * (r_ed + heart.wall + 0.6 * a)
    e = yx - centre
    along = e @ direction
    across = e @ np.array([direction[1], -direction[0]])
    ellipse = np.hypot(along / a, across / b)
    rv = _cover((1 - ellipse) * a, pixel) * (1 - epi)
    rv_wall = _cover((1 - ellipse) * a + 3.0, pixel) * (1 - epi) - rv
    return lv, rv, epi - lv + rv_wall


def _cover(signed_distance: np.ndarray, pixel: float) -> np.ndarray:
    """Anti-aliased coverage of a pixel by a shape, from the signed distance to its edge (mm)."""
    return np.clip(signed_distance / pixel + 0.5, 0, 1)


def _background(rng: np.random.Generator, yx: np.ndarray, fov: float) -> np.ndarray:
    """Static surroundings: a body ellipse of soft tissue with a few organs in it."""
    centre = fov / 2 + rng.uniform(-0.05, 0.05, 2) * fov
    axes = rng.uniform(0.42, 0.5, 2) * fov
    body = _cover((1 - np.hypot(*((yx - centre) / axes).transpose(2, 0, 1))) * axes.min(), 1.0)
    image = 0.02 + body * rng.uniform(0.2, 0.4)
    for _ in range(int(rng.integers(2, 5))):
        organ_centre = rng.uniform(0.15, 0.85, 2) * fov
        organ_axes = rng.uniform(0.08, 0.2, 2) * fov
        inside = _cover(
            (1 - np.hypot(*((yx - organ_centre) / organ_axes).transpose(2, 0, 1)))
            * organ_axes.min(),
            1.0,
        )
        image = image * (1 - inside * body) + inside * body * rng.uniform(0.1, 0.8)
    return image


SUNNYBROOK_COLUMNS = (
    "subject_id,original_id,group,age,sex,n_slices,n_frames,frame_interval_ms,"
    "pixel_spacing_mm,slice_spacing_mm,ed_frame,es_frame,lv_edv_ml,lv_esv_ml,lv_ef_percent"
)


def make_sunnybrook_like(
    root: str | Path, n_patients: int = 5, seed: int = 0, *, group: str = "DCM", phases: int = 20
) -> Path:
    """Write ``n_patients`` phantom cines in the Sunnybrook layout under ``root``.

    ``root/labels.csv`` has Sunnybrook's columns (``data_cards/sunnybrook.md``), group
    ``HF-I``, and ``root/SCD00000N01_cine.nii.gz`` holds each cine, as
    :class:`~seqimaging.medical.Sunnybrook` reads them. Each is a phantom of ACDC group
    ``group`` (the default, DCM, has an LV ejection fraction of 10–25 %, near the real
    heart-failure patients' 22–33 %) made as :func:`make_acdc_like` makes them, its
    cycle resampled to ``phases`` phases (periodic, linear) and rolled so that
    end-diastole falls at phase ``phases - 2`` or ``phases - 1``, as in the real files.
    Volumes and ejection fraction count the LV voxels of the ED and ES masks. Smaller
    than the real cines: 64 × 64 pixels of 1.9–2.5 mm, 6–8 slices. The same ``seed``
    writes the same voxels.

    Args:
        root: folder to write (created); it must not hold a ``labels.csv`` yet.
        n_patients: patients, 1 to 9.
        seed: seed of everything random.
        group: the ACDC group of :data:`GROUPS` whose anatomy and motion to draw.
        phases: phases per cycle, at least 2.

    Returns:
        ``root``, to pass to :class:`~seqimaging.medical.Sunnybrook`.

    Raises:
        SeqImagingError: ``n_patients`` outside 1–9, ``phases`` below 2, an unknown
            ``group``, or ``root/labels.csv`` exists.
    """
    from seqimaging.medical.sampling import resample_cycle

    nib = require("nibabel", extra="medical")
    if not isinstance(n_patients, int) or not 1 <= n_patients <= 9:
        raise SeqImagingError(f"n_patients must be an int from 1 to 9, got {n_patients!r}")
    if not isinstance(phases, int) or phases < 2:
        raise SeqImagingError(f"phases must be an int of at least 2, got {phases!r}")
    if group not in GROUPS:
        raise SeqImagingError(f"unknown group {group!r}; expected one of {GROUPS}")
    root = Path(root)
    if (root / "labels.csv").exists():
        raise SeqImagingError(f"{root}: already holds labels.csv; expected a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    rows = [SUNNYBROOK_COLUMNS]
    for index, sequence in enumerate(np.random.SeedSequence(seed).spawn(n_patients)):
        rng = np.random.default_rng(sequence)
        subject = f"SCD0000{index + 1}01"
        cine, masks, zooms, es = _subject(group, rng)
        n_t = cine.shape[0]
        ed = phases - int(rng.integers(1, 3))
        cycle = resample_cycle(cine.astype(np.float64), phases).round().astype(np.int16)
        interval = zooms[3] * n_t / phases
        _save(
            nib, np.roll(cycle, ed, axis=0), (*zooms[:3], interval), root / f"{subject}_cine.nii.gz"
        )
        edv, esv = ((m == ACDC_LABELS.index("LV")).sum() * np.prod(zooms[:3]) / 1000 for m in masks)
        rows.append(
            f"{subject},SC-HF-I-{index + 1:02d},HF-I,{int(rng.integers(40, 80))},M,"
            f"{cine.shape[1]},{phases},{interval:.2f},{zooms[0]:.4f},{zooms[2]:.2f},{ed},"
            f"{(round(es * phases / n_t) + ed) % phases},{edv:.1f},{esv:.1f},"
            f"{100 * (1 - esv / edv):.1f}"
        )
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root
