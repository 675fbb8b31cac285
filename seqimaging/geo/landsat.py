"""Landsat-8 Collection-1 Level-1 scenes: one GeoTIFF per band per date."""

from types import MappingProxyType as Frozen

from seqimaging.geo.layout import Layout

OLI_BANDS = tuple(f"B{i}" for i in range(1, 10))
TIRS_BANDS = ("B10", "B11")


class Landsat8(Layout):
    """Landsat-8 OLI/TIRS L1 band files ``LC08_<proc>_<path><row>_<YYYYMMDD>[_...]_<band>.TIF``.

    Values: OLI bands 1–9 become TOA reflectance without the sun-angle correction
    (``2e-5 · DN − 0.1``; divide by the sine of the scene's sun elevation for true TOA
    reflectance), TIRS bands 10–11 TOA radiance (``3.342e-4 · DN + 0.1`` W/(m² sr µm)),
    the constants shared by every Collection-1 scene. DN 0 is fill; ``BQA`` stays
    bit-packed (1 = designated fill) and is resampled with nearest neighbour. Each
    scene has its own grid: later dates are warped onto the first date's.

    Example:
        >>> cube = Landsat8.read("tests/data/landsat_ny", bands=["B4", "B5"])
        >>> cube.sizes["band"], str(cube.time.values[0])[:10]
        (2, '2018-04-05')
    """

    pattern = (
        r"^LC08_\w{4}_\d{6}_(?P<date>\d{8})_(?:\d{8}_\d{2}_\w{2}_)?(?P<band>B\d{1,2}|BQA)\.TIF$"
    )
    date_format = "%Y%m%d"
    nodata = Frozen({band: 0 for band in OLI_BANDS + TIRS_BANDS} | {"BQA": 1})
    scale = Frozen({band: 2.0e-5 for band in OLI_BANDS} | {band: 3.342e-4 for band in TIRS_BANDS})
    offset = Frozen({band: -0.1 for band in OLI_BANDS} | {band: 0.1 for band in TIRS_BANDS})
    resampling = Frozen({"BQA": "nearest"})
