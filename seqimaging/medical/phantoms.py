"""Beating-heart phantoms in the ACDC layout, for examples and tests without real data.

:func:`make_acdc_like` writes ``root/training/patientNNN/`` folders, each with a 4D NIfTI
``patientNNN_4d.nii.gz`` (x, y, z, t; int16) and an ``Info.cfg``, for the 5 ACDC groups.
The groups differ as the real ones do, mostly in how the heart moves:

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
shading and Rician noise all vary. Edges are anti-aliased.

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


def make_acdc_like(root: str | Path, n_per_class: int = 20, seed: int = 0) -> Path:
    """Write ``5 * n_per_class`` phantom patients in the ACDC layout under ``root/training``.

    Patients are ``patient001 ...`` with groups in the order of :data:`GROUPS`, repeated;
    ``Info.cfg`` gives ``ED: 1`` (1-based, as ACDC), ``ES``, ``Group``, ``Height``,
    ``NbFrame`` and ``Weight``. The same ``seed`` writes the same voxels.

    Args:
        root: folder to write (created); ``root/training`` must not hold patients yet.
        n_per_class: patients per group.
        seed: seed of everything random.

    Returns:
        ``root``, to pass to :class:`~seqimaging.medical.ACDC`.

    Raises:
        SeqImagingError: ``n_per_class`` below 1, or ``root/training`` already holds patients.
    """
    nib = require("nibabel", extra="medical")
    if not isinstance(n_per_class, int) or n_per_class < 1:
        raise SeqImagingError(f"n_per_class must be a positive int, got {n_per_class!r}")
    root = Path(root)
    split = root / "training"
    if any(split.glob("patient*")):
        raise SeqImagingError(f"{split}: already holds patients; expected a new or empty folder")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5 * n_per_class)]
    for index, rng in enumerate(rngs):
        group = GROUPS[index % len(GROUPS)]
        name = f"patient{index + 1:03d}"
        folder = split / name
        folder.mkdir(parents=True, exist_ok=True)
        cine, zooms, es = _subject(group, rng)
        image = nib.Nifti1Image(cine.transpose(3, 2, 1, 0), np.diag([*zooms[:3], 1.0]))
        image.header.set_zooms(zooms)
        image.header.set_xyzt_units("mm", "msec")
        nib.save(image, folder / f"{name}_4d.nii.gz")
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


def _subject(group: str, rng: np.random.Generator) -> tuple[np.ndarray, tuple, int]:
    """One subject's int16 cine ``[T, Z, Y, X]``, its zooms (x, y, z mm, t ms) and ES phase."""
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
    cine = np.empty((n_t, n_z, MATRIX, MATRIX))
    for z in range(n_z):
        taper = np.sqrt(1 - 0.75 * (z / (n_z - 1)) ** 2)  # base (z = 0) to apex
        for t, c in enumerate(contraction):
            lv, rv, muscle = _heart_masks(heart, yx, taper, c, pixel)
            blood = lv + rv
            cine[t, z] = background * (1 - blood - muscle) + blood + myocardium * muscle
    scale = rng.uniform(200, 1200)
    shading = 1 + rng.uniform(-0.25, 0.25) * (yx[..., 1] / (MATRIX * pixel) - 0.5)
    sigma = rng.uniform(0.02, 0.06)
    noisy = np.hypot(
        cine * shading + rng.normal(0, sigma, cine.shape), rng.normal(0, sigma, cine.shape)
    )
    interval = rng.uniform(700, 1100) / n_t
    es = int(np.argmax(contraction))
    return (noisy * scale).round().astype(np.int16), (pixel, pixel, thickness, interval), es


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
