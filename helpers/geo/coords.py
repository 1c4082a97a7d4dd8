"""Chinese map coordinates to WGS-84: GCJ-02 (Gaode, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS-84 shifted by a published, obfuscating polynomial (the
``_shift`` below, as in every open implementation); BD-09 is GCJ-02 with a
further rotation. The forward shift is exact; the inverse has no closed form
and is solved by fixed-point iteration to below a millimetre (the common
one-step inverse is off by 1-2 m). Points outside China's box are not shifted.
All functions are vectorised over numpy arrays or pandas Series.
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0                      # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323        # its eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0


def _outside_china(lat, lon):
    return ~((lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55))


def _shift(lat, lon):
    """(dlat, dlon) in degrees that GCJ-02 adds to a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = _outside_china(lat, lon)
    return np.where(outside, 0.0, dlat), np.where(outside, 0.0, dlon)


def wgs84_to_gcj02(lat, lon):
    """WGS-84 to GCJ-02 (exact). Returns ``(lat, lon)`` arrays."""
    lat, lon = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    dlat, dlon = _shift(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat, lon, *, tol: float = 1e-10, max_iter: int = 30):
    """GCJ-02 to WGS-84 by iteration until the forward shift reproduces the input."""
    glat, glon = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    wlat, wlon = glat.copy(), glon.copy()
    for _ in range(max_iter):
        flat, flon = wgs84_to_gcj02(wlat, wlon)
        elat, elon = flat - glat, flon - glon
        wlat, wlon = wlat - elat, wlon - elon
        if np.nanmax(np.abs(np.concatenate([elat.ravel(), elon.ravel(), [0.0]]))) < tol:
            break
    return wlat, wlon


def bd09_to_gcj02(lat, lon):
    """BD-09 to GCJ-02 (the published inverse rotation)."""
    lat, lon = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.sin(theta), z * np.cos(theta)


def to_wgs84(lat, lon, system: str):
    """Convert ``(lat, lon)`` from ``system`` (wgs84, gcj02 or bd09) to WGS-84."""
    if system == "wgs84":
        return np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    if system == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if system == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    raise ValueError(f"unknown coordinate system {system!r}; expected wgs84, gcj02 or bd09")


#: Mean Earth radius (IUGG), for great-circle distances.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


#: ``geo_precision`` of the customers table (:mod:`helpers.data.locate`), finest first: the
#: customer's own coordinates, then the centroid of the finest region its address resolved to.
PRECISIONS = ("point", "district", "city", "province", "country", "none")


def precise_for(precision, level: str):
    """Which customers' points are at least as fine as ``level``.

    Parameters
    ----------
    precision : Series of str
        ``geo_precision`` (missing counts as ``none``).
    level : {"point", "district", "city", "province", "country"}
        The finest unit an analysis needs: a city-level hot spot needs points at
        city level or finer (a state's centroid puts all its cities on one point).

    Returns
    -------
    Series of bool, indexed like ``precision``.

    Examples
    --------
    >>> import pandas as pd
    >>> precise_for(pd.Series(["point", "city", "province", None]), "city").tolist()
    [True, True, False, False]
    """
    import pandas as pd

    if level not in PRECISIONS[:-1]:
        raise ValueError(f"level must be one of {PRECISIONS[:-1]}, got {level!r}")
    allowed = PRECISIONS[:PRECISIONS.index(level) + 1]
    return pd.Series(precision).astype(object).isin(allowed).astype(bool)
