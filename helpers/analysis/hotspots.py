"""Hot and cold spots of a region value (step 4, insight).

:func:`hotspots` computes Getis-Ord Gi* hot and cold spots and local Moran's I
quadrants of a region value (revenue by default) with esda/libpysal, on the
spatial weights of :func:`region_weights` (shared borders between provinces,
else the nearest regions).

Inference is analytic (normal approximation), never by permutation: esda's
permutation tests compile with numba in every new kernel, which costs tens of
seconds per region report. The Gi* z-score of esda's ``G_Local`` is the
classical Getis and Ord (1995) standardised statistic; its two-sided p-value
comes from the normal distribution and the false discovery rate across the
regions of one report is controlled with Benjamini and Hochberg (1995).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from helpers.analysis.benchmark import Benchmark
from helpers.geo.coords import haversine_km
from helpers.geo.reference import load_adjacency

__all__ = ["HOTSPOT_COLUMNS", "region_weights", "hotspots", "gi_bins", "with_precision"]

#: Columns :func:`hotspots` adds to the KPI rows.
HOTSPOT_COLUMNS = ["gi_z", "gi_p", "gi_p_fdr", "gi_bin", "hotspot", "lisa_i", "lisa_p",
                   "lisa_p_fdr", "lisa_quadrant"]
_QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
_CONFIDENCE = {3: "99%", 2: "95%", 1: "90%"}


# --------------------------------------------------------------------------- weights


def region_weights(regions: pd.DataFrame, *, level: str = "province", k: int = 5,
                   adjacency: pd.DataFrame | None = None):
    """Binary spatial weights between regions, and how they were built.

    Contiguity when it is known: at province level, when every region is in
    the adjacency table (:func:`helpers.geo.reference.load_adjacency`), two
    provinces are neighbours when they share a border. Otherwise (cities, territories,
    other countries) the ``k`` nearest regions by great-circle distance
    between the region points (``lat``/``lon``) are the neighbours (KNN;
    libpysal needs polygons for contiguity, and only points are at hand).
    With contiguity, a region left without neighbours in a partial scope
    gets its nearest region.

    Parameters
    ----------
    regions : DataFrame
        ``region``, ``lat``, ``lon``; one row per region, no missing position.
    level : str
        The KPI level (``province`` enables contiguity).
    k : int
        Neighbours per region for KNN weights (capped at ``n - 1``).
    adjacency : DataFrame, optional
        Province pairs; default: the bundled file.

    Returns
    -------
    w : libpysal.weights.W
        Binary weights, ids are the row positions ``0..n-1``.
    info : dict
        ``weights`` (``"contiguity"`` or ``"knn"``), ``lonely`` (regions with no
        neighbour in scope, linked to the nearest) for contiguity, ``k`` for KNN
        (:func:`helpers.text.narrative.notes.neighbours_text` says it in words).
    """
    from libpysal.weights import W

    n = len(regions)
    names = list(regions["region"])
    lat = regions["lat"].to_numpy(dtype=float)
    lon = regions["lon"].to_numpy(dtype=float)
    dist = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(dist, np.inf)
    neighbours: dict[int, list[int]] = {i: [] for i in range(n)}
    info: dict
    if level == "province":
        pairs = adjacency if adjacency is not None else load_adjacency()
        known = set(pairs["province_a"]) | set(pairs["province_b"])
    else:
        known = set()
    if level == "province" and set(names) <= known:
        position = {name: i for i, name in enumerate(names)}
        for a, b in zip(pairs["province_a"], pairs["province_b"], strict=True):
            if a in position and b in position:
                neighbours[position[a]].append(position[b])
                neighbours[position[b]].append(position[a])
        lonely = [i for i in range(n) if not neighbours[i]]
        for i in lonely:
            j = int(np.argmin(dist[i]))
            neighbours[i].append(j)
            neighbours[j].append(i)
        info = {"weights": "contiguity", "lonely": len(lonely)}
    else:
        k = int(min(k, n - 1))
        for i in range(n):
            neighbours[i] = [int(j) for j in np.argsort(dist[i], kind="stable")[:k]]
        info = {"weights": "knn", "k": k}
    neighbours = {i: sorted(set(v)) for i, v in neighbours.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands / asymmetric KNN notices
        w = W(neighbours, silence_warnings=True)
    return w, info


# --------------------------------------------------------------------------- hot spots


def gi_bins(z: np.ndarray, p_adjusted: np.ndarray) -> np.ndarray:
    """Confidence bins -3..3 from z-scores and (adjusted) two-sided p-values.

    ``±3``: hot/cold at 99% (p < 0.01), ``±2`` at 95% (p < 0.05), ``±1`` at
    90% (p < 0.10), ``0`` not significant (or NaN input). The sign is the
    sign of ``z``.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p_adjusted, dtype=float)
    level = np.select([p < 0.01, p < 0.05, p < 0.10], [3, 2, 1], 0)
    level = np.where(np.isfinite(z) & np.isfinite(p), level, 0)
    return (np.sign(np.nan_to_num(z)) * level).astype("int64")


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN stays NaN."""
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _label(bin_: int) -> str:
    if bin_ == 0:
        return "not significant"
    return f"{'hot' if bin_ > 0 else 'cold'} {_CONFIDENCE[abs(bin_)]}"


def hotspots(kpis: pd.DataFrame, *, value: str = "revenue", level: str | None = None,
             min_regions: int = 8, k: int = 5, lisa_alpha: float = 0.05,
             adjacency: pd.DataFrame | None = None,
             benchmark: Benchmark | None = None) -> tuple[pd.DataFrame, dict]:
    """Getis-Ord Gi* hot/cold spots and local Moran's I quadrants of a region value.

    Gi* (the region together with its neighbours, binary weights) asks: is
    the value of this neighbourhood higher (hot) or lower (cold) than chance
    would put together? Local Moran's I (row-standardised weights) asks
    whether a region is like its neighbours (HH high among high, LL low
    among low) or unlike them (HL a high outlier among low, LH a low region
    among high).

    Assumptions, stated in ``info``: the analytic normal approximation of
    each statistic (no permutations; with few regions or very skewed values
    it is rough), the weights of :func:`region_weights`, and the false
    discovery rate controlled with Benjamini-Hochberg over the regions of
    this table.

    Parameters
    ----------
    kpis : DataFrame
        KPI rows with ``region``, ``lat``, ``lon`` and ``value``.
    value : str
        The column analysed (``revenue``, ``customers``, ...).
    level : str, optional
        ``province`` enables contiguity; default: the ``level`` column.
    min_regions : int
        With fewer regions that have a position, nothing is computed (the
        columns are NaN and ``info["reason_key"]`` says why).
    k : int
        Neighbours per region for KNN weights.
    lisa_alpha : float
        A local Moran quadrant is reported when its FDR-adjusted p-value is
        below this; otherwise ``ns``.
    adjacency : DataFrame, optional
        Province pairs (default: the bundled file).
    benchmark : Benchmark, optional
        The whole market, in a territory report: neighbourhoods do not stop
        at the territory's border, so the statistics are computed on every
        province of the market (``benchmark.kpis``) and the rows of ``kpis``
        get their values (``info["scope_key"]`` is ``"market"``).

    Returns
    -------
    table : DataFrame
        ``kpis`` with :data:`HOTSPOT_COLUMNS`: ``gi_z``, ``gi_p`` (two-sided,
        normal), ``gi_p_fdr`` (Benjamini-Hochberg), ``gi_bin`` (-3..3, see
        :func:`gi_bins`; Int64, NA when not computed), ``hotspot`` (``"hot
        99%"``, ``"cold 95%"``, ``"not significant"``), ``lisa_i``,
        ``lisa_p``, ``lisa_p_fdr`` and ``lisa_quadrant`` (``HH``, ``LH``,
        ``LL``, ``HL`` or ``ns``).
    info : dict
        ``computed`` (bool), ``regions`` (with a position), ``value``, the
        :func:`region_weights` info (``weights``, ``lonely`` or ``k``),
        ``unlocated`` (regions left out for want of a position, when any),
        ``scope_key``; when not computed ``reason_key``: ``few_regions`` (with
        ``min_regions``) or ``same_value``. Keys and numbers only:
        :mod:`helpers.text.narrative.notes` says them in words.
    """
    if benchmark is not None:
        table, info = hotspots(benchmark.kpis, value=value, level=level,
                               min_regions=min_regions, k=k, lisa_alpha=lisa_alpha,
                               adjacency=adjacency)
        info["scope_key"] = "market"
        return kpis.join(table.set_index("region")[HOTSPOT_COLUMNS], on="region"), info
    level = level or (str(kpis["level"].iloc[0]) if "level" in kpis.columns and len(kpis)
                      else "province")
    located = kpis["lat"].notna() & kpis["lon"].notna() & kpis[value].notna()
    n = int(located.sum())
    info: dict = {"value": value, "regions": n, "computed": False}
    empty = kpis.assign(gi_z=np.nan, gi_p=np.nan, gi_p_fdr=np.nan,
                        gi_bin=pd.array([pd.NA] * len(kpis), dtype="Int64"),
                        hotspot=pd.Series(pd.NA, index=kpis.index, dtype=object),
                        lisa_i=np.nan, lisa_p=np.nan, lisa_p_fdr=np.nan,
                        lisa_quadrant=pd.Series(pd.NA, index=kpis.index, dtype=object))
    if n < min_regions:
        info.update(reason_key="few_regions", min_regions=int(min_regions))
        return empty, info
    y = kpis.loc[located, value].to_numpy(dtype=float)
    if np.allclose(y, y[0]):
        info["reason_key"] = "same_value"
        return empty, info

    with warnings.catch_warnings():  # esda imports tqdm.auto, which warns without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        import esda

    w, winfo = region_weights(kpis.loc[located, ["region", "lat", "lon"]], level=level, k=k,
                              adjacency=adjacency)
    info.update(winfo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gi = esda.G_Local(y, w, transform="B", star=True, permutations=0)
        lisa = esda.Moran_Local(y, w, transformation="r", permutations=0)
    gi_z = np.asarray(gi.Zs, dtype=float)
    gi_p = 2 * stats.norm.sf(np.abs(gi_z))
    gi_p_fdr = _bh(gi_p)
    bins = gi_bins(gi_z, gi_p_fdr)
    with np.errstate(divide="ignore", invalid="ignore"):
        lisa_z = (lisa.Is - lisa.EI) / np.sqrt(lisa.VI)
    lisa_p = 2 * stats.norm.sf(np.abs(lisa_z))
    lisa_p_fdr = _bh(lisa_p)
    quadrant = np.where(np.nan_to_num(lisa_p_fdr, nan=1.0) < lisa_alpha,
                        pd.Series(lisa.q).map(_QUADRANTS).to_numpy(dtype=object), "ns")

    table = empty.copy()
    index = kpis.index[located]
    table.loc[index, "gi_z"] = gi_z
    table.loc[index, "gi_p"] = gi_p
    table.loc[index, "gi_p_fdr"] = gi_p_fdr
    table.loc[index, "gi_bin"] = bins
    table.loc[index, "hotspot"] = [_label(int(b)) for b in bins]
    table.loc[index, "lisa_i"] = np.asarray(lisa.Is, dtype=float)
    table.loc[index, "lisa_p"] = lisa_p
    table.loc[index, "lisa_p_fdr"] = lisa_p_fdr
    table.loc[index, "lisa_quadrant"] = quadrant
    info["computed"] = True
    if n < len(kpis):
        info["unlocated"] = int(len(kpis) - n)
    return table, info


def with_precision(info: dict, customers: pd.DataFrame, level: str) -> dict:
    """The hot-spot ``info`` with how precisely the customers are placed, for the notes.

    Region positions come from a gazetteer where it knows the region, else from the
    customers placed at least as finely as the region (:func:`helpers.analysis.kpis.region_kpis`):
    cities whose customers sit only on their state's centroid have no position and are
    left out. When that leaves too few regions, ``reason_key`` becomes ``"centroids"``.

    Parameters
    ----------
    info : dict
        :func:`hotspots`' info (not changed).
    customers : DataFrame
        The customers of the scope (``geo_precision``).
    level : str
        The regions' level (``province``, ``city``, ``territory``).

    Returns
    -------
    dict
        A copy with ``centroids`` (located customers placed more coarsely than ``level``) and
        ``customers`` when any are, and ``reason_key`` ``"centroids"`` instead of
        ``"few_regions"`` when they are the cause.
    """
    from helpers.geo.coords import precise_for

    out = dict(info)
    if "geo_precision" not in customers.columns or level not in ("province", "city"):
        return out
    located = (customers["lat"].notna() & customers["lon"].notna() if "lat" in customers.columns
               else pd.Series(False, index=customers.index))
    coarse = int((located & ~precise_for(customers["geo_precision"], level)).sum())
    if coarse:
        out.update(centroids=coarse, customers=int(len(customers)))
        if out.get("reason_key") == "few_regions" and coarse > len(customers) / 2:
            out["reason_key"] = "centroids"
    return out
