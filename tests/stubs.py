"""Stub notebooks for the batch and engine tests: a parameters cell and some code."""

from __future__ import annotations

from pathlib import Path

import nbformat


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
