"""Customers far from every cluster of customers (step 4, insight).

:func:`isolated_customers` runs DBSCAN on great-circle distance
(scikit-learn) over the customers with a precise position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.geo.coords import EARTH_RADIUS_KM, precise_for

__all__ = ["isolated_customers"]


#: The coarsest location trusted for isolation (``geo_precision`` of the customers table):
#: a province's or country's centroid says nothing about distances between customers.
PRECISE_LEVEL = "city"


def isolated_customers(customers: pd.DataFrame, *, eps_km: float = 200.0,
                       min_customers: int = 3, cell_deg: float = 0.05
                       ) -> tuple[pd.DataFrame, dict]:
    """Customers far from every cluster of customers (DBSCAN on great-circle distance).

    A customer is isolated when DBSCAN (``metric="haversine"``, ball tree,
    ``eps = eps_km``) marks it as noise: fewer than ``min_customers``
    customers (itself included) lie within ``eps_km`` of it, and it is not
    within ``eps_km`` of a customer who has that many. To keep memory flat
    at 100k customers the positions are first snapped to a grid of
    ``cell_deg`` degrees (0.05 degree is about 5 km, small against
    ``eps_km``) and DBSCAN runs on the occupied cells weighted by their
    customers; the distances reported use the exact positions.

    Only customers whose position is a point or a district or city centre
    (``geo_precision`` in ``point``, ``district``, ``city``; all located
    customers when the column is absent) take part: a province centroid
    says little about where a customer is.

    Parameters
    ----------
    customers : DataFrame
        ``customer_id``, ``lat``, ``lon``; ``geo_precision``, ``province``,
        ``city`` and firmographics are carried along when present.
    eps_km : float
        Neighbourhood radius.
    min_customers : int
        Customers within ``eps_km`` (itself included) that make a cluster core.
    cell_deg : float
        Grid size for the snapping, in degrees.

    Returns
    -------
    table : DataFrame
        One row per isolated customer, farthest from a cluster first:
        ``customer_id``, ``province``, ``city`` (when present), ``lat``,
        ``lon``, ``nearest_customer_km`` (to any other customer),
        ``nearest_cluster_km`` (to the nearest customer in a cluster),
        ``nearest_cluster_city`` (that customer's city, when known) and
        ``customers_within_eps`` (itself included).
    info : dict
        ``located`` (customers used), ``excluded`` (without a usable
        position), ``centroids`` (of those, placed only at a province's or
        country's centroid), ``clusters``, ``isolated``, ``eps_km``,
        ``min_customers``; ``reason_key`` when too few customers have a precise
        position to look for clusters (no more than ``min_customers``):
        ``"centroids"`` when customers are placed only at region centroids
        (the data give no coordinates or cities), else ``"few_located"``.
        Numbers only: :mod:`helpers.text.narrative.notes` says the method and
        the reason in words.
    """
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import BallTree

    columns = ["customer_id", "province", "city", "lat", "lon", "nearest_customer_km",
               "nearest_cluster_km", "nearest_cluster_city", "customers_within_eps"]
    usable = customers["lat"].notna() & customers["lon"].notna()
    coarse = pd.Series(False, index=customers.index)
    if "geo_precision" in customers.columns:
        precise = precise_for(customers["geo_precision"], PRECISE_LEVEL).to_numpy()
        coarse = usable & ~precise
        usable &= precise
    points = customers.loc[usable]
    info = {"located": int(len(points)), "excluded": int((~usable).sum()),
            "centroids": int(coarse.sum()),
            "eps_km": float(eps_km), "min_customers": int(min_customers)}
    if len(points) < min_customers + 1:
        info.update(clusters=0, isolated=0,
                    reason_key="centroids" if info["centroids"] else "few_located")
        return pd.DataFrame(columns=columns), info

    lat = points["lat"].to_numpy(dtype=float)
    lon = points["lon"].to_numpy(dtype=float)
    cells = pd.DataFrame({"i": np.round(lat / cell_deg).astype(np.int64),
                          "j": np.round(lon / cell_deg).astype(np.int64)})
    cell_id, uniques = pd.factorize(pd.MultiIndex.from_frame(cells))
    counts = np.bincount(cell_id)
    centres = np.radians(np.column_stack([uniques.get_level_values(0) * cell_deg,
                                          uniques.get_level_values(1) * cell_deg]))
    eps = eps_km / EARTH_RADIUS_KM
    model = DBSCAN(eps=eps, min_samples=min_customers, metric="haversine",
                   algorithm="ball_tree").fit(centres, sample_weight=counts)
    cell_label = model.labels_
    label = cell_label[cell_id]
    noise = label < 0
    info["clusters"] = int(cell_label.max() + 1) if (cell_label >= 0).any() else 0
    info["isolated"] = int(noise.sum())
    if not noise.any():
        return pd.DataFrame(columns=columns), info

    exact = np.radians(np.column_stack([lat, lon]))
    tree = BallTree(exact, metric="haversine")
    dist, _ = tree.query(exact[noise], k=2)
    nearest_any = dist[:, 1] * EARTH_RADIUS_KM
    within = tree.query_radius(exact[noise], r=eps, count_only=True)
    clustered = ~noise
    if clustered.any():
        ctree = BallTree(exact[clustered], metric="haversine")
        cdist, cidx = ctree.query(exact[noise], k=1)
        nearest_cluster = cdist[:, 0] * EARTH_RADIUS_KM
        cities = (points["city"].to_numpy(dtype=object)[clustered][cidx[:, 0]]
                  if "city" in points.columns else np.full(noise.sum(), None, dtype=object))
    else:
        nearest_cluster = np.full(noise.sum(), np.nan)
        cities = np.full(noise.sum(), None, dtype=object)
    out = pd.DataFrame({
        "customer_id": points["customer_id"].to_numpy()[noise],
        "province": (points["province"].to_numpy(dtype=object)[noise]
                     if "province" in points.columns else None),
        "city": (points["city"].to_numpy(dtype=object)[noise]
                 if "city" in points.columns else None),
        "lat": lat[noise], "lon": lon[noise],
        "nearest_customer_km": nearest_any,
        "nearest_cluster_km": nearest_cluster,
        "nearest_cluster_city": cities,
        "customers_within_eps": within.astype("int64"),
    })
    out = out.sort_values(["nearest_cluster_km", "customer_id"], ascending=[False, True],
                          kind="mergesort", na_position="first").reset_index(drop=True)
    return out[columns], info
