"""Tests for helpers.analysis.roi: spend in the period, pro rata by day."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.analysis import roi
from helpers.period import Period

PERIOD = Period.between("2024-01-01", "2024-05-31")


def test_marketing_roi_pro_rata_by_day():
    kpis = pd.DataFrame({"region": ["广东省", "江苏省", "四川省"],
                         "revenue": [1000.0, 500.0, 100.0]})
    spend = pd.DataFrame({"province": ["广东省", "广东省", "江苏省", "江苏省"],
                          "period": ["2024Q1", "2024q2", "2023Q4", "2024Q2"],
                          "amount": [91.0, 91.0, 92.0, 0.0]})
    # Period 2024-01-01 .. 2024-05-31: all of Q1 (91 days), 61 of Q2's 91 days.
    out = roi.marketing_roi(kpis, spend, period=PERIOD).set_index("region")
    assert out.loc["广东省", "marketing_spend"] == pytest.approx(91 + 61)
    assert out.loc["广东省", "roi"] == pytest.approx(1000 / 152)
    assert out.loc["江苏省", "marketing_spend"] == 0.0 and math.isnan(out.loc["江苏省", "roi"])
    assert math.isnan(out.loc["四川省", "marketing_spend"])
    with pytest.raises(ValueError, match="spend row 1: period must be a quarter"):
        roi.marketing_roi(kpis, spend.assign(period="Jan 2024"), period=PERIOD)
    terr = roi.marketing_roi(pd.DataFrame({"region": ["华南"], "revenue": [10.0]}), spend,
                             period=PERIOD,
                             region_of_province=pd.Series({"广东省": "华南", "江苏省": "华东"}))
    assert terr["marketing_spend"].item() == pytest.approx(152.0)
