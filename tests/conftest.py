"""Shared fixtures: a tiny generated dataset with its own workbook config."""

from __future__ import annotations

import matplotlib
import pytest
import yaml

from helpers.config import DEFAULT_CONFIG

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory):
    """A config like the shipped one, pointing at 400 generated customers."""
    import samplegen as sample

    folder = tmp_path_factory.mktemp("tiny")
    tables = sample.generate(n_customers=400, seed=7)
    sample.write_raw(tables, folder / "data", seed=7)
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["paths"] = {"data": "data", "reports": "reports"}
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
