"""``--pdf``: reports printed to A4 PDF by headless Chromium, and a clear refusal without one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsers import CHROMIUM

from helpers.run import batch
from helpers.run.pdf import ENV, PdfUnavailable, find_browser, print_pdf, print_run

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<style>@page { size: A4; margin: 14mm 12mm; } .wb-nav { color: red; }
@media print { .wb-nav { display: none; } }</style></head>
<body><nav class="wb-nav">bar</nav><h1>Step 5 · Strategy</h1>
<table><tr><th>Region</th><th>Revenue (CNY)</th></tr><tr><td>Guangdong</td><td>81.9 M</td></tr>
</table>{more}</body></html>"""


def _pages(pdf: Path) -> list[str]:
    """The page boxes of a PDF Chromium wrote (its page objects are not compressed)."""
    return re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())


def test_no_browser_is_refused_with_what_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PdfUnavailable, match="apt-get install chromium"):
        find_browser()
    monkeypatch.setenv(ENV, "/nowhere/chrome")
    with pytest.raises(PdfUnavailable, match="WORKBOOK_CHROMIUM='/nowhere/chrome'"):
        find_browser()


def test_batch_with_pdf_and_no_browser_stops_before_the_run(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    code = batch.main(["--pdf", "--reports", str(tmp_path / "reports"), "--run-id", "r"])
    assert code == batch.EXIT_USAGE
    assert "--pdf needs headless Chromium or Chrome" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "r").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_a_report_prints_to_a4_pages(tmp_path):
    html = tmp_path / "05_strategy.html"
    html.write_text(PAGE.replace("{more}", "<p>line</p>" * 150), encoding="utf-8")
    pdf = print_pdf(html, tmp_path / "05_strategy.pdf", CHROMIUM)
    assert pdf.read_bytes().startswith(b"%PDF-")
    boxes = _pages(pdf)
    assert len(boxes) >= 2  # 150 lines do not fit one page
    width, height = (float(v) for v in boxes[0])
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (installed by .ci/run)")
def test_print_run_writes_a_pdf_next_to_every_report(tmp_path):
    (tmp_path / "all").mkdir()
    for page in ("index.html", "all/01_goals.html", "all/05_strategy.html"):
        (tmp_path / page).write_text(PAGE.replace("{more}", ""), encoding="utf-8")
    (tmp_path / "all" / "notes.html").write_text("not a report", encoding="utf-8")
    result = print_run(tmp_path, CHROMIUM)
    assert result == {"written": 3, "failed": []}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pdf")) == [
        "all/01_goals.pdf", "all/05_strategy.pdf", "index.pdf"]


def test_a_browser_that_writes_nothing_is_reported_per_page(tmp_path):
    fake = tmp_path / "fake-chrome"
    fake.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n")
    fake.chmod(0o755)
    (tmp_path / "index.html").write_text(PAGE.replace("{more}", ""), encoding="utf-8")
    result = print_run(tmp_path, str(fake))
    assert result["written"] == 0
    assert result["failed"] == [{"page": "index.html", "error":
                                 "index.html: the browser wrote no PDF (exit 3: no display)"}]
