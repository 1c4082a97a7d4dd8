"""One definition per number on the bundled sample (:mod:`totals`): one batch, the whole
market and one territory (South China), in English. The real examples are checked by
``tests/test_realdata_reports.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from totals import SAID, check_run, folders, read_json, visible


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """The sample's whole market and South China, all five steps, in English."""
    from stubs import sample_config

    from helpers.run import batch

    folder = tmp_path_factory.mktemp("totals")
    config_path = sample_config(folder)
    assert batch.main(["--config", str(config_path), "--regions", "ALL,华南", "--jobs", "2",
                       "--reports", str(folder / "reports"), "--run-id", "totals",
                       "--lang", "en"]) == 0
    return folder / "reports" / "totals"


@pytest.mark.kernel
def test_every_total_agrees_with_its_definition(run):
    headlines = check_run(run, "en")
    assert set(headlines) == {"all", "territory"}
    for kind, headline in headlines.items():
        # the sample carries groups and lifetime value: their count is said
        assert re.search(SAID["en"]["with_orders"], visible(folders(run)[kind] / "04_insight.html"))
        # with the default windows (a 12-month period, active_months 12) the customers
        # buying in the period are the active ones
        assert headline["active_months"] == 12
        assert headline["customers_buying"] == headline["active_customers"], kind

    # the same definition gives the same number across reports: the territory's totals are
    # its provinces' rows in the whole market's report
    where = folders(run)
    market = pd.read_csv(where["all"] / "region_tiers.csv")
    territory = read_json(where["territory"] / "headline.json")
    provinces = market.loc[market["territory"] == territory["region"]]
    assert len(provinces) > 1
    assert territory["customers"] == int(provinces["customers"].sum())
    assert territory["revenue"] == pytest.approx(float(provinces["revenue"].sum()))
