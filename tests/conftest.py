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


@pytest.fixture(autouse=True)
def _kernels_only_in_kernel_tests(request, monkeypatch):
    """A test that starts a Jupyter kernel must be marked ``kernel``, or it fails.

    ``make test-fast`` (``-m "not kernel"``) leaves the marked tests out; an unmarked
    test that starts a kernel (in this process: papermill, an engine, the batch) is
    refused the kernel and fails, naming the marker, so the fast tier stays fast.
    """
    if request.node.get_closest_marker("kernel") is not None:
        yield
        return
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    started: list[list[str]] = []

    async def refuse(self, cmd, **kwargs):
        started.append(list(cmd))
        raise RuntimeError("this test is not marked kernel: it may not start a Jupyter kernel")

    monkeypatch.setattr(LocalProvisioner, "launch_kernel", refuse)
    yield
    if started:
        pytest.fail(f"{request.node.nodeid} started a Jupyter kernel ({len(started)} time(s)) "
                    "but is not marked @pytest.mark.kernel", pytrace=False)
