"""Tests for helpers.analysis.clusters: K-means selection recovers planted groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.analysis import clusters
from helpers.analysis.customers import purchase_summary


def _blobs(k: int, per: int = 100, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """``k`` well-separated groups in log space of the four behaviour features."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(1.0, 9.0, size=(k, 4))
    while True:  # keep the centres at least 2.5 apart in log space
        gaps = np.linalg.norm(centres[:, None] - centres[None, :], axis=2)
        if (gaps[np.triu_indices(k, 1)] > 2.5).all():
            break
        centres = rng.uniform(1.0, 9.0, size=(k, 4))
    labels = np.repeat(np.arange(k), per)
    logs = centres[labels] + rng.normal(0, 0.25, size=(k * per, 4))
    values = np.expm1(logs)
    table = pd.DataFrame(values, columns=clusters.FEATURES).assign(
        customer_id=[f"c{i}" for i in range(k * per)],
        monetary=lambda d: d["frequency"] * d["aov"])
    return table, labels


@pytest.mark.parametrize("planted", [3, 4, 5])
def test_kmeans_selection_recovers_planted_k(planted):
    table, truth = _blobs(planted)
    model = clusters.CustomerClusters(range(2, 8), sample_size=250).fit(table)
    assert model.k_ == planted
    assert model.silhouette_sample_ == 250
    scores = model.scores_.set_index("k")
    assert scores["chosen"].sum() == 1 and scores.loc[planted, "chosen"]
    assert scores["silhouette"].idxmax() == planted
    assert {"calinski_harabasz", "davies_bouldin"} <= set(scores.columns)
    # Same partition as the planted one (labels are renumbered).
    pairs = pd.crosstab(truth, model.labels_)
    assert ((pairs > 0).sum(axis=1) == 1).all() and ((pairs > 0).sum(axis=0) == 1).all()


def test_describe_clusters_marks_the_distinctive_features():
    table = pd.DataFrame({
        "customer_id": list("abcdef"),
        "recency_days": [5, 6, 7, 300, 310, 320],
        "frequency": [20, 22, 24, 1, 2, 1],
        "aov": [1000.0, 1100, 900, 1000, 1000, 1050],
        "tenure_days": [900, 950, 1000, 900, 950, 1000],
        "monetary": [20000.0, 24200, 21600, 1000, 2000, 1050],
    })
    profiles = clusters.describe_clusters(table, np.array([0, 0, 0, 1, 1, 1]))
    assert profiles["customers"].tolist() == [3, 3]
    # medians 6 and 310 days against 153.5 overall; (6 + 1) / (153.5 + 1) <= 2/3: low
    assert profiles.loc[0, ["median_recency_days", "overall_median_recency_days"]].tolist() == [
        6.0, 153.5]
    assert profiles["trait_recency_days"].tolist() == ["low", "high"]
    assert profiles["trait_frequency"].tolist() == ["high", "low"]  # 22 and 1 against 11
    assert profiles["trait_aov"].tolist() == ["", ""]  # 1000 against 1000: typical
    assert profiles["trait_tenure_days"].tolist() == ["", ""]
    assert "description" not in profiles  # the words are the text catalog's
    assert profiles["revenue_share"].sum() == pytest.approx(1.0)


def test_customer_features_by_hand():
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["a", "a", "a", "b", "b"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-03-01",
                                      "2024-06-01", "2024-06-10"]),
        "amount": [100.0, 300.0, -50.0, 200.0, 10.0],
    })
    summary = purchase_summary(orders, as_of="2024-06-10")
    f = clusters.customer_features(summary).set_index("customer_id")
    assert f.loc["a", "frequency"] == 2 and f.loc["a", "monetary"] == 350.0
    assert f.loc["a", "aov"] == 175.0 and f.loc["a", "recency_days"] == 101
    assert f.loc["a", "tenure_days"] == 161
    assert f.loc["b", "frequency"] == 1   # the line on the as-of day is left out


def test_too_few_customers_is_a_clear_error():
    table, _ = _blobs(2, per=1)
    with pytest.raises(ValueError, match="too few customers"):
        clusters.CustomerClusters(range(2, 9)).fit(table)


def test_selection_on_a_sample_assigns_every_customer():
    table, truth = _blobs(3, per=400)
    model = clusters.CustomerClusters(range(2, 6), sample_size=200, fit_sample=300).fit(table)
    assert model.fit_sample_ == 300 and model.k_ == 3 and len(model.labels_) == 1200
    pairs = pd.crosstab(truth, model.labels_)
    assert ((pairs > 0).sum(axis=1) == 1).all()


def test_kmeans_runs_on_one_thread_in_a_fresh_process():
    """The limit is set after scikit-learn's OpenMP runtime is loaded: in a new kernel the
    first fit used to run on every core (and stall on a busy machine)."""
    import os
    import subprocess
    import sys

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: every fit runs on one thread anyway")
    code = """
import numpy as np, pandas as pd
from threadpoolctl import threadpool_info
from helpers.analysis import clusters
seen = []
fit = clusters.CustomerClusters._fit
def watched(self, table):
    out = fit(self, table)
    seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")
    return out
clusters.CustomerClusters._fit = watched
rng = np.random.default_rng(0)
table = pd.DataFrame({f: rng.gamma(2.0, 10.0, 300) for f in clusters.FEATURES})
clusters.CustomerClusters(k_range=range(2, 4)).fit(table)
print(sorted(set(seen)))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True, timeout=300)
    assert done.stdout.strip() == "[1]", done.stdout + done.stderr
