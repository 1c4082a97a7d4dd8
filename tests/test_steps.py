"""The notebook context: how numbers read in report tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.text.format import report_number


@pytest.mark.parametrize(("value", "shown"), [
    (81929027.0, "81,929,027"), (-1234.4, "-1,234"), (999.99, "1,000"), (999.4, "999.4"),
    (0.192, "0.192"), (-0.0405, "-0.0405"), (12.0, "12"), (0.0, "0"), (100.25, "100.2"),
])
def test_report_number(value, shown):
    assert report_number(value) == shown


def test_tables_use_it_and_keep_missing_values(tmp_path):
    with pd.option_context("display.float_format", report_number):
        html = pd.DataFrame({"revenue": [81929027.0, math.nan], "share": [0.192, 0.5]}).to_html()
    assert "81,929,027" in html and "0.192" in html and "NaN" in html
