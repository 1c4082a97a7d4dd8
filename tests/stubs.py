"""Stubs for tests that run the batch: notebooks (a parameters cell and some code) and a
copy of the shipped config pointing at the bundled sample."""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml


def stub_notebook(path: Path, parameters: str, *cells: str, title: str | None = None) -> Path:
    """Write a notebook: an optional title, the ``parameters`` cell, one code cell a source."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(title)] if title else []
    nb.cells += [params, *(nbformat.v4.new_code_cell(source) for source in cells)]
    nbformat.write(nb, path)
    return path


def sample_config(folder: Path) -> Path:
    """``folder/workbook.yaml``: the shipped config, reading the bundled sample and writing
    reports under ``folder/reports``."""
    from helpers.config import PROJECT_ROOT

    config = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    config["paths"] = {"data": str(PROJECT_ROOT / "data" / "sample"),
                       "reports": str(folder / "reports")}
    path = folder / "workbook.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


#: The parameters cell of a stub batch notebook.
STUB_PARAMETERS = 'region: str = "ALL"\nrun_dir: str = ""\nconfig: str = "workbook.yaml"'


def stub_batch(folder: Path, body: str) -> tuple[Path, Path]:
    """Two stub notebooks (``01_step``, ``02_step``) running ``body`` and a copy of the shipped
    config reading an empty data folder, under ``folder``: (notebooks folder, config path)."""
    from helpers.config import PROJECT_ROOT

    notebooks = folder / "notebooks"
    notebooks.mkdir()
    for i in (1, 2):
        stub_notebook(notebooks / f"0{i}_step.ipynb", STUB_PARAMETERS, body)
    data = folder / "data"
    data.mkdir()
    raw = yaml.safe_load((PROJECT_ROOT / "workbook.yaml").read_text(encoding="utf-8"))
    raw["paths"]["data"] = str(data)
    config = folder / "workbook.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return notebooks, config
