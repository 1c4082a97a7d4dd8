"""Tests for helpers.analysis.segments: RFM scores and segments on a hand-made table."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis import segments
from helpers.analysis.customers import purchase_summary

AS_OF = pd.Timestamp("2025-01-01")

# customer: (recency_days, frequency, monetary, expected R, F, M, segment)
# With 10 customers and 5 bins every score level holds exactly 2 customers.
PLAN = {
    "A": (1, 9, 5000.0, 5, 5, 5, "champions"),
    "B": (3, 1, 100.0, 5, 1, 1, "new customers"),
    "C": (10, 3, 800.0, 4, 2, 2, "potential loyalists"),
    "D": (15, 7, 2500.0, 4, 4, 4, "loyal"),             # 3000 bought, 500 returned
    "E": (30, 5, 1200.0, 3, 3, 3, "need attention"),
    "F": (45, 4, 300.0, 3, 2, 2, "about to sleep"),
    "G": (90, 10, 4000.0, 2, 5, 5, "cannot lose them"),
    "H": (120, 6, 2000.0, 2, 3, 4, "at risk"),
    "I": (300, 2, 50.0, 1, 1, 1, "lost"),
    "J": (250, 8, 1500.0, 1, 4, 3, "at risk"),
}


@pytest.fixture
def orders() -> pd.DataFrame:
    rows = []
    for cid, (recency, frequency, monetary, *_rest) in PLAN.items():
        bought = monetary + (500.0 if cid == "D" else 0.0)
        for k in range(frequency):
            day = AS_OF - pd.Timedelta(days=recency + 7 * k)
            rows.append((f"{cid}-{k}", cid, day, bought / frequency))
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    extra = pd.DataFrame(
        [
            # A's first order has a second line: still one order.
            ("A-0", "A", AS_OF - pd.Timedelta(days=1), 0.0),
            # D returns goods after its last purchase: not a recency event.
            ("D-R", "D", AS_OF - pd.Timedelta(days=2), -500.0),
            # K only ever returned something: not scored.
            ("K-R", "K", AS_OF - pd.Timedelta(days=5), -80.0),
        ],
        columns=frame.columns,
    )
    # Give the zero line of A a positive amount moved from the first line.
    frame.loc[frame["order_id"] == "A-0", "amount"] -= 100.0
    extra.loc[extra["order_id"] == "A-0", "amount"] = 100.0
    return pd.concat([frame, extra], ignore_index=True)


def test_rfm_scores_and_segments(orders):
    before = orders.copy()
    table = segments.rfm(purchase_summary(orders))
    pd.testing.assert_frame_equal(orders, before)
    assert list(table.columns) == ["customer_id", "last_order_date", "recency_days", "frequency",
                                   "monetary", "r_score", "f_score", "m_score", "rfm_score",
                                   "segment"]
    assert list(table["customer_id"]) == list(PLAN)          # K (returns only) is left out
    t = table.set_index("customer_id")
    for cid, (recency, frequency, monetary, r, f, m, segment) in PLAN.items():
        row = t.loc[cid]
        assert row["recency_days"] == recency, cid
        assert row["frequency"] == frequency, cid
        assert row["monetary"] == pytest.approx(monetary), cid
        assert (row["r_score"], row["f_score"], row["m_score"]) == (r, f, m), cid
        assert row["rfm_score"] == f"{r}{f}{m}", cid
        assert row["segment"] == segment, cid


def test_rfm_default_as_of_is_day_after_last_order(orders):
    table = segments.rfm(purchase_summary(orders)).set_index("customer_id")
    assert table.loc["A", "last_order_date"] == pd.Timestamp("2024-12-31")
    assert table.loc["A", "recency_days"] == 1


def test_rfm_as_of_ignores_later_orders(orders):
    table = segments.rfm(purchase_summary(orders, as_of="2024-12-01")).set_index("customer_id")
    # A's orders: days 1, 8, 15, 22, 29, 36, ... before 2025-01-01; 31 days earlier is the cut.
    assert table.loc["A", "recency_days"] == 36 - 31
    assert table.loc["A", "frequency"] == 9 - 5
    assert "B" not in table.index                          # B's only order is after as_of


def test_rfm_ties_are_never_broken_by_the_other_measures():
    """Issue 12: one order each on one day. Recency and frequency carry no information, so the
    other measures do not invent an order among the tied values: recency gets the middle score,
    frequency 1 (each bought once), monetary still orders them; nobody is a frequent buyer."""
    orders = pd.DataFrame({
        "order_id": ["1", "2", "3", "4", "5"],
        "customer_id": ["v", "w", "x", "y", "z"],
        "order_date": pd.to_datetime(["2024-06-01"] * 5),
        "amount": [30.0, 10.0, 50.0, 20.0, 40.0],
    })
    table = segments.rfm(purchase_summary(orders)).set_index("customer_id")
    expected = {"w": 1, "y": 2, "v": 3, "z": 4, "x": 5}
    assert table["m_score"].to_dict() == expected
    assert set(table["f_score"]) == {1}
    assert set(table["r_score"]) == {3}
    assert set(table["segment"]) == {"about to sleep"}
    info = segments.rfm_information(table.reset_index())
    assert info["reason_key"] == "frequency_uninformative"
    assert info["uninformative"] == ["recency_days", "frequency"]
    assert info["single_value"] == {"recency_days": 1.0, "frequency": 1.0}


def test_rfm_a_large_tie_shares_one_score():
    """Most customers bought once (a marketplace): they all get frequency score 1 whatever they
    spent, and only the repeat buyers score higher."""
    rows = [(f"c{i:02d}", f"2024-06-{1 + i % 28:02d}", 10.0 + i) for i in range(20)]
    rows += [("c00", "2024-05-01", 5.0), ("c01", "2024-05-02", 5.0), ("c01", "2024-04-02", 5.0)]
    orders = pd.DataFrame({"order_id": [str(i) for i in range(len(rows))],
                           "customer_id": [r[0] for r in rows],
                           "order_date": pd.to_datetime([r[1] for r in rows]),
                           "amount": [r[2] for r in rows]})
    table = segments.rfm(purchase_summary(orders)).set_index("customer_id")
    once = table["frequency"] == 1
    assert once.sum() == 18 and set(table.loc[once, "f_score"]) == {1}
    assert table.loc["c01", "f_score"] == 5 and table.loc["c00", "f_score"] == 5
    assert not table.loc[once, "segment"].isin(["champions", "loyal", "cannot lose them",
                                                "at risk", "potential loyalists"]).any()
    info = segments.rfm_information(table.reset_index())
    assert info["tied"]["frequency"] == {"value": 1.0, "customers": 18, "share": 0.9, "score": 1}
    assert "reason_key" not in info


def test_rfm_other_bins_and_single_customer(orders):
    three = segments.rfm(purchase_summary(orders), bins=3)
    assert three["r_score"].between(1, 3).all()
    assert three.set_index("customer_id").loc["A", "rfm_score"] == "333"
    assert segments.segment_for(3, 3, bins=3) == "champions"
    assert segments.segment_for(1, 1, bins=3) == "hibernating"   # 1 -> ceil(5/3) = 2
    one = segments.rfm(purchase_summary(orders[orders["customer_id"] == "A"]))
    assert one[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [3, 3, 3]


def test_segment_map_covers_every_pair():
    names = {segments.segment_for(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert names == set(segments.SEGMENTS)
    assert segments.segment_for(5, 1) == "new customers"
    assert segments.segment_for(2, 5) == "cannot lose them"
    assert segments.segment_for(1, 1) == "lost"
    assert segments.segment_for(2, 1) == "hibernating"
    assert segments.segment_for(3, 5) == "loyal"


def test_segment_summary(orders):
    summary = segments.segment_summary(segments.rfm(purchase_summary(orders)))
    assert list(summary["segment"]) == [
        "champions", "loyal", "potential loyalists", "new customers", "need attention",
        "about to sleep", "cannot lose them", "at risk", "lost"]
    s = summary.set_index("segment")
    total = sum(p[2] for p in PLAN.values())                   # 17450
    assert s.loc["at risk", "customers"] == 2
    assert s.loc["at risk", "customer_share"] == pytest.approx(0.2)
    assert s.loc["at risk", "revenue"] == pytest.approx(3500.0)
    assert s.loc["at risk", "revenue_share"] == pytest.approx(3500.0 / total)
    assert s.loc["at risk", "recency_mean"] == pytest.approx(185.0)
    assert s.loc["at risk", "frequency_mean"] == pytest.approx(7.0)
    assert s["customer_share"].sum() == pytest.approx(1.0)
