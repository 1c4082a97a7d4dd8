"""Shared fixtures: a tiny generated dataset with its own workbook config."""

from __future__ import annotations

import matplotlib
import pytest
import yaml

from helpers.config import DEFAULT_CONFIG

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """A run folder holding the bundled sample's prep (step 2 built and saved there), one
    per test module that asks (a module may write results into it)."""
    from helpers import context

    run = tmp_path_factory.mktemp("sample_run")
    assert len(context.open_step(run_dir=str(run)).prep.orders)  # built and saved
    return run


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



@pytest.fixture(scope="session")
def sample_reports(tmp_path_factory) -> dict:
    """A batch on the bundled sample: the whole market and Guangdong, all five steps, in
    English and Chinese; ``{"en": run folder, "zh": run folder}``. Starts kernels: only
    for tests marked ``kernel`` (the reports' text, their layout in the browser)."""
    from stubs import sample_config

    from helpers.run import batch

    folder = tmp_path_factory.mktemp("sample_reports")
    config_path = sample_config(folder)
    common = ["--config", str(config_path), "--regions", "ALL,广东", "--jobs", "2",
              "--reports", str(folder / "reports")]
    for lang in ("en", "zh"):
        assert batch.main([*common, "--run-id", lang, "--lang", lang]) == 0
    return {lang: folder / "reports" / lang for lang in ("en", "zh")}

# ----------------------------------------------------------------------------- test tiers
# `make test-fast` runs `-m "not kernel"`. A test that starts a Jupyter kernel in this
# process (papermill, an engine, the batch; also through a module-scoped fixture) must
# be marked `kernel`: otherwise the kernel is refused and the test fails, naming the
# marker, so the fast tier stays fast. (A kernel started by a subprocess is not seen:
# such tests are marked by hand.)
_KERNEL_GUARD: dict = {"item": None, "refused": []}


def pytest_configure(config):
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    launch = LocalProvisioner.launch_kernel

    async def launch_if_marked(self, cmd, **kwargs):
        item = _KERNEL_GUARD["item"]
        if item is not None and item.get_closest_marker("kernel") is None:
            _KERNEL_GUARD["refused"].append(item.nodeid)
            raise RuntimeError(f"{item.nodeid} is not marked kernel: it may not start a "
                               "Jupyter kernel")
        return await launch(self, cmd, **kwargs)

    LocalProvisioner.launch_kernel = launch_if_marked


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _KERNEL_GUARD.update(item=item, refused=[])
    yield
    _KERNEL_GUARD["item"] = None


@pytest.fixture(autouse=True)
def _kernels_only_in_kernel_tests(request):
    """Fail a test not marked ``kernel`` that started a Jupyter kernel (see above)."""
    yield
    refused = _KERNEL_GUARD["refused"]
    if refused:
        pytest.fail(f"{request.node.nodeid} started a Jupyter kernel ({len(refused)} time(s)) "
                    "but is not marked @pytest.mark.kernel", pytrace=False)
