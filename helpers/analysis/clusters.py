"""Behavioural customer clusters with K-means, k chosen by silhouette (step 4, insight).

RFM sorts customers by fixed rules; clustering lets the data say which groups
of buying behaviour exist. Features per customer (:func:`customer_features`)
are log-transformed (spend and counts are skewed) and standardised, so each
counts equally. K-means is fitted for every k in a range and the k with the
highest silhouette is kept; the silhouette is computed on a random sample of
customers (an exact silhouette needs all pairwise distances), and
Calinski-Harabasz and Davies-Bouldin are shown beside it on all customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FEATURES", "customer_features", "CustomerClusters", "describe_clusters"]

#: Behaviour features used for clustering (columns of :func:`customer_features`).
FEATURES = ["recency_days", "frequency", "aov", "tenure_days"]

#: A cluster's median this many times the median of all customers (or its inverse) or
#: more marks the feature as ``high`` (``low``) for the cluster.
TRAIT_RATIO = 1.5


def customer_features(summary: pd.DataFrame) -> pd.DataFrame:
    """Behaviour per customer, from :func:`helpers.analysis.customers.purchase_summary`.

    Returns
    -------
    DataFrame
        One row per customer of ``summary``: ``customer_id``, ``monetary``
        (net amount, returns subtracted, floored at 0: the features are
        log-transformed), ``recency_days`` (days since the last purchase),
        ``frequency`` (distinct orders), ``aov`` (``monetary / frequency``) and
        ``tenure_days`` (days since the first purchase), in the order of
        ``summary`` (by id).
    """
    columns = ["customer_id"] + ["monetary"] + FEATURES
    if summary.empty:
        return pd.DataFrame(columns=columns)
    monetary = summary["monetary"].clip(lower=0)
    return pd.DataFrame({
        "customer_id": summary["customer_id"],
        "monetary": monetary,
        "recency_days": summary["recency_days"],
        "frequency": summary["orders"],
        "aov": monetary / summary["orders"],
        "tenure_days": summary["tenure_days"],
    })[columns].reset_index(drop=True)


class CustomerClusters:
    """K-means on standardised ``log1p`` features, k chosen by (sampled) silhouette.

    Parameters
    ----------
    k_range : sequence of int
        Candidate numbers of clusters (default 2..8; values above
        ``n - 1`` are skipped).
    features : list of str
        Columns of the table passed to :meth:`fit`.
    sample_size : int
        Customers drawn (without replacement, fixed seed) for each silhouette.
    fit_sample : int
        With more customers than this, the k-selection runs on a random sample
        of this many (fixed seed) and every customer is then assigned to the
        nearest centre of the chosen model (keeps 100k customers fast).
    random_state : int
        Seed of K-means and of the silhouette sample.
    n_init : int
        K-means restarts per k.

    Attributes
    ----------
    scores_ : DataFrame
        ``k``, ``silhouette`` (sampled), ``calinski_harabasz``,
        ``davies_bouldin``, ``inertia`` and ``chosen``.
    k_ : int
        The chosen k (highest silhouette).
    labels_ : ndarray
        Cluster of each customer, renumbered so that cluster 0 has the
        highest median spend.
    model_, scaler_ : fitted scikit-learn objects.
    silhouette_sample_ : int
        Customers in each silhouette sample.
    fit_sample_ : int
        Customers the models were fitted and scored on (all, or ``fit_sample``).
    """

    def __init__(self, k_range=range(2, 9), *, features: list[str] | None = None,
                 sample_size: int = 3000, fit_sample: int = 10000, random_state: int = 0,
                 n_init: int = 4):
        self.k_range = k_range
        self.features = features
        self.sample_size = sample_size
        self.fit_sample = fit_sample
        self.random_state = random_state
        self.n_init = n_init

    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        columns = self.features or FEATURES
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise KeyError(f"clustering features missing from the table: {missing}")
        values = table[columns].to_numpy(dtype=float)
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError("clustering features must be finite and not negative")
        return np.log1p(values)

    def fit(self, table: pd.DataFrame) -> CustomerClusters:
        """Fit K-means for each k and keep the best by silhouette; returns ``self``.

        K-means runs on one thread: on small per-k fits OpenMP threads cost more than
        they save, several times over on a busy 2-core machine (bench/insight_speed.py).
        scikit-learn is imported first: a limit set before its OpenMP runtime is loaded
        does not reach it (the first fit of every kernel then ran on every core).
        """
        import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime the limit must see)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return self._fit(table)

    def _fit(self, table: pd.DataFrame) -> CustomerClusters:
        from sklearn import metrics
        from sklearn.cluster import KMeans
        from sklearn.preprocessing import StandardScaler

        raw = self._matrix(table)
        n = len(raw)
        ks = [int(k) for k in self.k_range if 2 <= int(k) <= n - 1]
        if not ks:
            raise ValueError(f"too few customers ({n}) for clustering with k in "
                             f"{list(self.k_range)}")
        self.scaler_ = StandardScaler().fit(raw)
        x_all = self.scaler_.transform(raw)
        if n > self.fit_sample:
            rows = np.random.default_rng(self.random_state).choice(n, self.fit_sample,
                                                                   replace=False)
            x = x_all[np.sort(rows)]
        else:
            x = x_all
        self.fit_sample_ = int(len(x))
        self.silhouette_sample_ = int(min(self.sample_size, len(x)))
        rows, models = [], {}
        for k in ks:
            model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
            labels = model.fit_predict(x)
            if len(np.unique(labels)) < 2:
                continue
            models[k] = model
            rows.append({
                "k": k,
                "silhouette": float(metrics.silhouette_score(
                    x, labels, sample_size=self.silhouette_sample_,
                    random_state=self.random_state)),
                "calinski_harabasz": float(metrics.calinski_harabasz_score(x, labels)),
                "davies_bouldin": float(metrics.davies_bouldin_score(x, labels)),
                "inertia": float(model.inertia_),
            })
        if not rows:
            raise ValueError("K-means found no split of the customers (all alike)")
        scores = pd.DataFrame(rows)
        self.k_ = int(scores.loc[scores["silhouette"].idxmax(), "k"])
        self.scores_ = scores.assign(chosen=scores["k"] == self.k_)
        self.model_ = models[self.k_]
        labels = self.model_.predict(x_all)
        # Renumber: 0 = highest median of the spend-like feature (aov, else the first).
        key = "aov" if "aov" in (self.features or FEATURES) else (self.features or FEATURES)[0]
        medians = pd.Series(table[key].to_numpy(dtype=float)).groupby(labels).median()
        order = {old: new for new, old in enumerate(medians.sort_values(ascending=False).index)}
        self.labels_ = np.vectorize(order.get)(labels).astype("int64")
        return self


def describe_clusters(table: pd.DataFrame, labels: np.ndarray, *,
                      features: list[str] | None = None) -> pd.DataFrame:
    """Size, value and the distinctive features of each cluster.

    A feature is a trait of the cluster when the cluster's median differs from
    the median of all customers by at least half (``(median + 1) / (overall + 1)``
    at least :data:`TRAIT_RATIO`: ``high``; at most its inverse: ``low``). The
    words for them ("order often, large orders") are in the text catalog
    (:func:`helpers.text.narrative.insight.cluster_description`).

    Parameters
    ----------
    table : DataFrame
        :func:`customer_features` output (``monetary`` and the features).
    labels : ndarray
        Cluster per row.

    Returns
    -------
    DataFrame
        ``cluster``, ``customers``, ``customer_share``, ``revenue``
        (sum of ``monetary``), ``revenue_share``, and for each feature its median
        (``median_<feature>``), the median of all customers
        (``overall_median_<feature>``) and the trait (``trait_<feature>``: ``high``,
        ``low`` or ``""``).
    """
    features = features or FEATURES
    frame = table.assign(cluster=np.asarray(labels))
    overall = frame[features].median()
    rows = []
    total = frame["monetary"].sum()
    for cluster, group in frame.groupby("cluster"):
        med = group[features].median()
        traits = {}
        for feature in features:
            ratio = (float(med[feature]) + 1) / (float(overall[feature]) + 1)
            traits[feature] = ("high" if ratio >= TRAIT_RATIO
                               else "low" if ratio <= 1 / TRAIT_RATIO else "")
        rows.append({
            "cluster": int(cluster),
            "customers": int(len(group)),
            "customer_share": len(group) / len(frame),
            "revenue": float(group["monetary"].sum()),
            "revenue_share": float(group["monetary"].sum() / total) if total > 0 else np.nan,
            **{f"median_{f}": float(med[f]) for f in features},
            **{f"overall_median_{f}": float(overall[f]) for f in features},
            **{f"trait_{f}": traits[f] for f in features},
        })
    return pd.DataFrame(rows)
