"""HTML rendering of executed notebooks and the run's index page (no kernel needed)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from helpers.run.index import write_index
from helpers.run.render import notebook_title, order_sections, render_html

CODE = "secret_variable_name = 41 + 1  # CODE_MARKER_c0de"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if tag != "a" and value.startswith(("http:", "https:", "//")):
                self.external.append(value)
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _executed_notebook(path: Path) -> Path:
    """A notebook as papermill leaves it: code with outputs (text, a table, an error)."""
    nb = nbformat.v4.new_notebook()
    table = nbformat.v4.new_code_cell("df")
    table.outputs = [nbformat.v4.new_output(
        "execute_result",
        data={"text/html": "<table class='dataframe'><tr><td>广东省</td><td>42</td></tr></table>",
              "text/plain": "广东省 42"},
        execution_count=2,
    )]
    code = nbformat.v4.new_code_cell(CODE)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="the answer is 42\n")]
    hidden = nbformat.v4.new_code_cell("print('internal')")
    hidden.metadata["tags"] = ["remove-cell"]
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="INTERNAL_ONLY\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Insight\n\nWhat the numbers mean."), code,
                table, hidden]
    nbformat.write(nb, path)
    return path


def test_render_html_hides_code_and_keeps_outputs(tmp_path):
    html = render_html(_executed_notebook(tmp_path / "04_insight.ipynb"),
                       tmp_path / "out" / "04_insight.html",
                       title="04 Insight — <East> China — run 1", index_href="../index.html")
    text = html.read_text(encoding="utf-8")
    assert "CODE_MARKER_c0de" not in text and "secret_variable_name" not in text
    assert "the answer is 42" in text and "广东省" in text and "What the numbers mean" in text
    assert "INTERNAL_ONLY" not in text  # remove-cell tag honoured
    body = text[text.index("<body"):]
    assert "jp-InputPrompt" not in body and "jp-OutputPrompt" not in body  # no prompts
    page = _parse(html)
    assert page.title == "04 Insight — <East> China — run 1"
    assert "&lt;East&gt;" in text and "<East>" not in text
    assert page.external == [] and page.scripts == 0  # no CDN, nothing to load
    assert "../index.html" in page.links



def test_render_html_reuses_its_exporter_and_each_page_is_its_own(tmp_path):
    """The exporter is made once per thread and reused; a page rendered after another
    (other title, index link, notebook) is the page a new exporter writes."""
    from helpers.run import render

    notebook = _executed_notebook(tmp_path / "04_insight.ipynb")
    other = nbformat.read(notebook, as_version=4)
    other.cells[0].source = "# Strategy\n\nOther words."
    nbformat.write(other, tmp_path / "05_strategy.ipynb")

    def page(source, name, title, href):
        return render_html(source, tmp_path / "out" / name, title=title,
                           index_href=href).read_text(encoding="utf-8")

    render._exporters.__dict__.clear()  # a new exporter for the first page
    first = page(notebook, "a.html", "Run A", "../index.html")
    exporter = render._exporter()
    second = page(tmp_path / "05_strategy.ipynb", "b.html", "Run B", None)
    again = page(notebook, "a.html", "Run A", "../index.html")
    assert render._exporter() is exporter  # reused
    assert again == first
    assert "Other words" in second and "What the numbers mean" not in second
    assert "Run A" not in second and "../index.html" not in second
    render._exporters.__dict__.clear()
    assert page(tmp_path / "05_strategy.ipynb", "b.html", "Run B", None) == second


def test_notebook_title():
    assert notebook_title("04_insight.ipynb") == "04 Insight"
    assert notebook_title("02_data_prep.ipynb") == "02 Data prep"
    assert notebook_title("notes") == "notes"
    assert notebook_title("04_insight.ipynb", "zh") == "04 洞察"
    assert notebook_title("02_data_prep.ipynb", "zh") == "02 数据准备"


def _regions() -> list[dict]:
    return [
        {"region": "ALL", "label": "Whole market", "slug": "all", "status": "ok", "error": None,
         "notebooks": [{"notebook": "01_goals.ipynb", "status": "ok",
                        "html": "all/01_goals.html", "error": None}]},
        {"region": "<script>alert(1)</script>", "label": "<script>alert(1)</script>",
         "slug": "x y", "status": "failed",
         "error": "04_insight.ipynb: KeyError: '<img src=x onerror=alert(2)>'",
         "notebooks": [
             {"notebook": "01_goals.ipynb", "status": "ok", "html": "x y/01_goals.html",
              "error": None},
             {"notebook": "04_insight.ipynb", "status": "failed",
              "html": "x y/04_insight.html", "error": "KeyError: '<img src=x onerror=alert(2)>'"},
             {"notebook": "05_strategy.ipynb", "status": "skipped", "html": None,
              "error": None},
         ]},
    ]


def _touch_reports(run_dir: Path, regions: list[dict]) -> None:
    for region in regions:
        for item in region["notebooks"]:
            if item["html"]:
                (run_dir / item["html"]).parent.mkdir(parents=True, exist_ok=True)
                (run_dir / item["html"]).write_text("<html></html>", encoding="utf-8")


def test_write_index_escapes_everything_from_data(tmp_path):
    regions = _regions()
    _touch_reports(tmp_path, regions)
    (tmp_path / "all" / "headline.json").write_text(json.dumps({
        "region": "ALL", "label": "Whole market", "customers": 1500, "active_customers": 1200,
        "revenue": 12345678.9, "growth_yoy": -0.031, "period_start": "2025-01-01 00:00:00",
        "period_end": "2025-12-31", "tier": "<i>core</i>",
        "tiers": {"gap": 3, "core": 2, "<i>odd</i>": 1}}), encoding="utf-8")
    path = write_index(tmp_path, regions, meta={
        "run_id": "run<1>", "project": "Access & control", "currency": "CNY",
        "started": "2026-11-23T11:30:00Z", "duration_seconds": 75.2,
        "parameters": {"regions": "territories", "lang": "en", "mask_pii": True}})
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img" not in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "<i>odd</i>" not in text and "&lt;i&gt;odd&lt;/i&gt;" in text
    # regions per tier on the first screen, in the tiers' order
    assert text.index(">core<") < text.index(">gap<") < text.index("odd&lt;/i&gt;<")
    assert "run&lt;1&gt;" in text and "Access &amp; control" in text
    page = _parse(path)
    assert page.scripts == 0 and page.external == []
    # failed region marked, its message shown, later notebooks skipped
    assert '<section class="card panel failed" id="region-x y">' in text
    assert "(skipped)" in text and "1 failed" in text
    # headline numbers (money as the report tables show it) and period
    assert "1,500" in text and "12.3 M" in text and "Revenue (CNY)" in text
    assert "-3.1%" in text
    assert "2025-01-01 – 2025-12-31" in text and "1 min 15 s" in text
    # links are percent-encoded, relative, and resolve to the files
    reports = [link for link in page.links if link.endswith(".html")]
    assert "x%20y/01_goals.html" in reports
    assert all(not link.startswith(("/", "http")) for link in reports)
    for link in reports:
        assert (tmp_path / unquote(link)).exists()


def test_write_index_reads_the_manifest_and_reports_a_prep_failure(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "run_id": "20261123-113000", "parameters": {"lang": "zh"},
        "prep": {"status": "failed", "error": "ValueError: <bad> ledger"}}), encoding="utf-8")
    text = write_index(tmp_path, []).read_text(encoding="utf-8")
    assert "20261123-113000" in text and "数据准备失败" in text
    assert "ValueError: &lt;bad&gt; ledger" in text
    assert '<html lang="zh-CN">' in text


def _notebook_with_html(path: Path, html: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("m")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/html": html},
                                           execution_count=1)]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


def test_render_html_keeps_offline_maps_and_refuses_cdn_ones(tmp_path):
    import folium
    import pandas as pd
    import pytest

    from helpers.run.render import OfflineReportError
    from helpers.viz.maps.area import MapArea
    from helpers.viz.maps.points import customer_map

    offline = customer_map(pd.DataFrame({"lat": [23.1], "lon": [113.3]}), area=MapArea(tiles=None))
    good = render_html(_notebook_with_html(tmp_path / "good.ipynb", offline._repr_html_()),
                       tmp_path / "good.html", title="maps")
    text = good.read_text(encoding="utf-8")
    assert "srcdoc=" in text and "markerClusterGroup" in text  # the map is in the page
    page = _parse(good)
    assert page.external == []

    cdn = folium.Map(location=[30, 110], tiles=None)._repr_html_()  # Leaflet from a CDN
    with pytest.raises(OfflineReportError, match="cdn.jsdelivr.net"):
        render_html(_notebook_with_html(tmp_path / "bad.ipynb", cdn), tmp_path / "bad.html",
                    title="maps")
    assert not (tmp_path / "bad.html").exists()


def _cell(source: str, key: str | None = None):
    cell = nbformat.v4.new_markdown_cell(source)
    if key:
        cell.metadata["tags"] = [f"section-{key}"]
    return cell


def test_order_sections_moves_the_named_sections_first():
    cells = [_cell("title"), _cell("setup"),
             _cell("## A", "a"), _cell("a1"), _cell("a2"),
             _cell("## B", "b"), _cell("b1"),
             _cell("## C", "c"),
             _cell("## D", "d"), _cell("d1")]
    order = [c.source for c in order_sections(cells, ["c", "nope", "b"])]
    assert order == ["title", "setup", "## C", "## B", "b1", "## A", "a1", "a2", "## D", "d1"]
    assert [c.source for c in order_sections(cells, [])] == [c.source for c in cells]
    plain = [_cell("x"), _cell("y")]
    assert order_sections(plain, ["a"]) == plain


def test_render_html_puts_the_objective_sections_first(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell("# Title"), _cell("## Alpha section", "alpha"),
                _cell("## Beta section", "beta")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    page = render_html(path, tmp_path / "nb.html", title="t", section_order=["beta"]).read_text(
        "utf-8")
    assert page.index("Title") < page.index("Beta section") < page.index("Alpha section")


def test_write_index_names_the_tiers_in_the_runs_language(tmp_path):
    regions = _regions()[:1]
    _touch_reports(tmp_path, regions)
    (tmp_path / "all" / "headline.json").write_text(
        json.dumps({"tiers": {"core": 2, "gap": 1}}), encoding="utf-8")
    text = write_index(tmp_path, regions, meta={"parameters": {"lang": "zh"}}).read_text("utf-8")
    assert ">核心 2<" in text and ">缺口 1<" in text and 'class="tier core"' in text


def test_write_index_falls_back_to_the_single_tier_of_older_runs(tmp_path):
    regions = _regions()[:1]
    _touch_reports(tmp_path, regions)
    (tmp_path / regions[0]["slug"] / "headline.json").write_text(
        json.dumps({"tier": "<b>core</b>"}), encoding="utf-8")
    text = write_index(tmp_path, regions).read_text(encoding="utf-8")
    assert '<span class="tier">&lt;b&gt;core&lt;/b&gt;</span>' in text


def test_load_translations_reads_the_language_file_and_names_its_errors(tmp_path):
    from helpers.run.render import load_translations

    assert load_translations(tmp_path, "zh") == {}  # no file: every cell stays English
    (tmp_path / "zh.yaml").write_text(
        "- notebook: 01_goals\n  en: |-\n    # Title\n\n    Some text.\n  zh: |-\n    # 标题\n",
        encoding="utf-8")
    assert load_translations(tmp_path, "zh") == {"# Title\n\nSome text.": "# 标题"}
    assert load_translations(tmp_path, "en") == {}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zh.yaml").write_text("- notebook: x\n  en: hello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"zh\.yaml: item 1 needs the text keys 'en' and 'zh'"):
        load_translations(bad, "zh")
    worse = tmp_path / "worse"
    worse.mkdir()
    (worse / "zh.yaml").write_text("- en: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"zh\.yaml: not valid YAML"):
        load_translations(worse, "zh")


def test_render_html_shows_translated_markdown_and_keeps_sections(tmp_path):
    from helpers.run.render import translate_markdown

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print('# Title')")
    nb.cells = [_cell("# Title"), _cell("## Alpha section", "alpha"), code,
                _cell("## Beta section", "beta")]
    translations = {"# Title": "# 标题", "## Beta section": "## 乙节"}
    cells = translate_markdown(nb.cells, translations)
    assert [c.source for c in cells] == ["# 标题", "## Alpha section", "print('# Title')",
                                         "## 乙节"]
    assert cells[3].metadata["tags"] == ["section-beta"] and nb.cells[0].source == "# Title"
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    page = render_html(path, tmp_path / "nb.html", title="t", section_order=["beta"],
                       translations=translations).read_text("utf-8")
    assert page.index("标题") < page.index("乙节") < page.index("Alpha section")
    assert "Beta section" not in page


def _notebook_with_markdown_output(path: Path, text: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("Markdown(text)")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={
        "text/markdown": text, "text/plain": "<IPython.core.display.Markdown object>"},
        execution_count=1)]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("unsafe", [
    "**East** [x](javascript:alert(1))",          # a markdown link
    "run `r`<img src=x onerror=alert(1)>``",      # a backtick closing a code span
    '<span title="" onmouseover="alert(1)">x</span>',
])
def test_render_html_refuses_a_page_that_would_run_script(tmp_path, unsafe):
    from helpers.run.render import UnsafeReportError

    source = _notebook_with_markdown_output(tmp_path / "04_insight.ipynb", unsafe)
    with pytest.raises(UnsafeReportError, match="04_insight.ipynb"):
        render_html(source, tmp_path / "04_insight.html", title="t")
    assert not (tmp_path / "04_insight.html").exists()


def test_render_html_shows_markdown_text_from_the_data_as_text(tmp_path):
    from helpers.text.markup import md_text

    payloads = ["[x](javascript:alert(1))", "r`<img src=x onerror=alert(1)>`",
                '" onmouseover="alert(1)" x="', "{{ 7*191 }}"]
    text = "\n\n".join(f"**{md_text(p)}** and {md_text(p)}" for p in payloads)
    page = render_html(_notebook_with_markdown_output(tmp_path / "n.ipynb", text),
                       tmp_path / "n.html", title="t").read_text(encoding="utf-8")

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.chunks = []

        def handle_data(self, data):
            self.chunks.append(data)

    shown = Text()
    shown.feed(page)
    for payload in payloads:
        assert f"{payload} and {payload}" in "".join(shown.chunks)


def test_the_page_templates_are_package_data():
    """An installed package finds its templates: pyproject's package-data globs cover
    every file of every ``templates`` folder in ``helpers``."""
    import tomllib

    import helpers
    from helpers.config import PROJECT_ROOT

    root = Path(helpers.__file__).parent
    globs = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))[
        "tool"]["setuptools"]["package-data"]["helpers"]
    shipped = {path for pattern in globs for path in root.glob(pattern)}
    templates = {path for folder in root.rglob("templates") for path in folder.rglob("*")
                 if path.is_file()}
    assert {p.relative_to(root).as_posix() for p in templates} >= {
        "run/templates/index.html.j2", "run/templates/nbconvert/workbook_report.html.j2"}
    assert templates <= shipped, sorted(map(str, templates - shipped))


def test_the_report_banner_escapes_its_title_link_and_link_text(tmp_path):
    html = render_html(_executed_notebook(tmp_path / "04_insight.ipynb"), tmp_path / "o.html",
                       title='<img src=x onerror="alert(1)">', index_href='../x".html',
                       index_text="<b>all</b> & more").read_text(encoding="utf-8")
    banner = html[html.index('<header class="wb-banner">'):]
    banner = banner[:banner.index("</header>")]
    assert "<img" not in banner and "&lt;img src=x onerror=" in banner
    assert "&lt;b&gt;all&lt;/b&gt; &amp; more" in banner

    class Tags(HTMLParser):
        seen: list = []

        def handle_starttag(self, tag, attrs):
            self.seen.append((tag, dict(attrs)))

    tags = Tags()
    tags.feed(banner)
    assert [tag for tag, _ in tags.seen] == ["header", "span", "nav", "a"]
    # the quote stayed inside the value
    assert tags.seen[3][1] == {"class": "wb-nav-index", "href": '../x".html'}


def test_write_index_says_how_many_customers_are_in_no_region(tmp_path):
    regions = _regions()[:1]
    _touch_reports(tmp_path, regions)
    (tmp_path / "all" / "headline.json").write_text(json.dumps(
        {"customers": 1200, "no_region": {"customers": 1034, "revenue": 5.0}}), encoding="utf-8")
    text = write_index(tmp_path, regions).read_text("utf-8")
    assert "1,200" in text and "incl. 1,034 in no region" in text
    zh = write_index(tmp_path, regions, meta={"parameters": {"lang": "zh"}}).read_text("utf-8")
    assert "含 1,034 家无地区客户" in zh
    (tmp_path / "all" / "headline.json").write_text(json.dumps({"customers": 7}), "utf-8")
    assert "no region" not in write_index(tmp_path, regions).read_text("utf-8")


def _market_run(tmp_path: Path, lang: str = "en") -> tuple[list[dict], dict]:
    """A run folder with the whole market's step-5 files and two territories."""
    import pandas as pd

    regions = [
        {"region": "ALL", "label": "Whole market", "kind": "all", "slug": "all", "status": "ok",
         "notebooks": [{"notebook": "01_goals.ipynb", "status": "ok", "html": "all/01_goals.html"}]},
        {"region": "华东", "label": "East <China>", "kind": "territory", "slug": "east-china",
         "status": "ok", "notebooks": [{"notebook": "05_strategy.ipynb", "status": "ok",
                                        "html": "east-china/05_strategy.html"}]},
        {"region": "华南", "label": "South China", "kind": "territory", "slug": "south-china",
         "status": "ok", "notebooks": []},
    ]
    _touch_reports(tmp_path, regions)
    (tmp_path / "south-china").mkdir()
    for slug, customers, revenue in (("all", 5000, 426_940_117.0), ("east-china", 2213, 1.99e8),
                                     ("south-china", 1040, 9.44e7)):
        (tmp_path / slug / "headline.json").write_text(json.dumps({
            "customers": customers, "active_customers": customers - 100, "revenue": revenue,
            "growth_yoy": 0.029, "period_start": "2025-01-01", "period_end": "2025-12-31",
            "active_months": 12, "tiers": {"core": 1, "gap": 1}}), encoding="utf-8")
    (tmp_path / "all" / "executive_summary.json").write_text(json.dumps({
        "objective": "find_new_markets", "findings": [
            {"kind": "gap", "value": 6, "text": "6 gap region(s) <b>largest</b> Henan"},
            {"kind": "size", "value": 1.0, "text": "5,000 customers, revenue 427 M"}]}),
        encoding="utf-8")
    (tmp_path / "all" / "budget.json").write_text(json.dumps({
        "summary": {"moved": 837000.0, "total": 12350000.0}}), encoding="utf-8")
    pd.DataFrame({"region": ["四川省", "甘肃省"], "region_en": ["Sichuan", "Gansu"],
                  "change": [178000.0, -159000.0]}).to_csv(tmp_path / "all" / "budget.csv",
                                                           index=False)
    pd.DataFrame({"region": ["广东省", "河南省"], "region_en": ["Guangdong", "Henan"],
                  "tier": ["core", "gap"], "revenue": [8.2e7, 1e6]}).to_csv(
        tmp_path / "all" / "region_tiers.csv", index=False)
    pd.DataFrame({"region": ["广东省", "河南省"], "tier": ["core", "gap"],
                  "action": ["Invest and deepen: account plans for the top customers and "
                             "cross-selling of the wider product range",
                             "Investigate first: competition, regulation, logistics or simply "
                             "no coverage?"]}).to_csv(tmp_path / "all" / "actions.csv",
                                                      index=False)
    meta = {"run_id": "r1", "currency": "CNY", "started": "2026-12-03T23:09:47Z",
            "inputs": [{"file": "orders.csv", "path": "/secret/place/orders.csv"}],
            "parameters": {"lang": lang}}
    return regions, meta


def test_write_index_tells_the_markets_story_on_the_first_screen(tmp_path):
    from bs4 import BeautifulSoup

    regions, meta = _market_run(tmp_path)
    text = write_index(tmp_path, regions, meta=meta).read_text(encoding="utf-8")
    soup = BeautifulSoup(text, "html.parser")
    story = soup.find(id="market")
    figures = {d["class"][1]: d.find(class_="value").get_text(strip=True)
               for d in story.select(".figure")}
    assert figures == {"customers": "5,000", "active": "4,900", "revenue": "427 M",
                       "growth": "+2.9%"}
    # each figure says which customers it counts
    shown = story.get_text(" ", strip=True)
    assert "every customer kept after cleaning" in shown and "12 months" in shown
    # the findings as the summary wrote them, escaped
    findings = [li.get_text(" ", strip=True) for li in story.select("ol.findings li")]
    assert findings == ["6 gap region(s) <b>largest</b> Henan", "5,000 customers, revenue 427 M"]
    assert "<b>largest</b>" not in text
    # the moves: the budget's direction with English names, the first action per tier
    moves = [li.get_text(" ", strip=True) for li in story.select("ul.moves li")]
    assert moves[0].startswith("Move 837 k CNY of the 12.3 M CNY marketing budget towards "
                               "Sichuan +178 k; taken from Gansu -159 k")
    assert "Guangdong: Invest and deepen" in moves[1] and "Henan: Investigate" in moves[2]
    tiers = [r.get_text(" ", strip=True) for r in story.select("table.tiers tr")]
    assert tiers == ["core 1 Guangdong", "gap 1 Henan"]
    # one card per other region, the market not repeated; a label from data escaped
    cards = soup.select("section.card")
    assert [c["id"] for c in cards] == ["region-east-china", "region-south-china"]
    assert "East &lt;China&gt;" in text
    assert cards[0].find("dd", class_="revenue").get_text(strip=True) == "199 M"
    # period, data and date once, never a path
    assert text.count("2025-01-01 – 2025-12-31") == 1 and text.count("2026-12-03 23:09") == 1
    assert "orders.csv" in text and "/secret" not in text
    assert _parse(tmp_path / "index.html").external == []


def test_write_index_tells_the_story_in_chinese(tmp_path):
    from bs4 import BeautifulSoup

    regions, meta = _market_run(tmp_path, "zh")
    text = write_index(tmp_path, regions, meta=meta).read_text(encoding="utf-8")
    story = BeautifulSoup(text, "html.parser").find(id="market")
    shown = story.get_text(" ", strip=True)
    assert "五项发现" in shown and "建议行动" in shown and "收入（元）" in shown
    assert "4.27亿" in shown and "四川省 +17.8万" in shown
    assert "广东省：加大投入" in shown  # the playbook's action in Chinese
    assert "清洗后保留的每一家客户" in shown


def test_write_index_without_a_whole_market_shows_every_region_as_a_card(tmp_path):
    regions, meta = _market_run(tmp_path)
    text = write_index(tmp_path, regions[1:], meta=meta).read_text(encoding="utf-8")
    assert 'id="market"' not in text
    assert text.count('<section class="card panel') == 2


@pytest.mark.parametrize("lang, parameters, said", [
    ("en", {"regions": "ALL,广东", "period_end": "", "mask_pii": True},
     "Regions: Whole market, 广东; the period ends at the last order date; personal data masked"),
    ("en", {"regions": "provinces", "period_end": "2025-06-30", "mask_pii": False,
            "objective": "keep_valuable_customers"},
     "The market and each province; the period ends on 2025-06-30; personal data shown"),
    ("zh", {"regions": "territories", "period_end": None, "mask_pii": True},
     "全国市场及各大区；分析期截至最后一笔订单日期；个人信息已脱敏"),
])
def test_write_index_states_the_runs_settings_in_words(tmp_path, lang, parameters, said):
    (tmp_path / "manifest.json").write_text(json.dumps({
        "run_id": "r1", "parameters": {"lang": lang, "jobs": 2, "engine": "warm",
                                       **parameters}}), encoding="utf-8")
    text = write_index(tmp_path, []).read_text(encoding="utf-8")
    assert said in text
    assert "mask_pii" not in text and "period_end" not in text and "engine" not in text
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_write_index_cites_the_largest_driver_of_the_markets_change(tmp_path, lang):
    """The front door says why the market's revenue changed: step 4's revenue bridge
    (``headline.json``'s ``bridge``), its largest driver linked to the bridge's file."""
    from bs4 import BeautifulSoup

    regions, meta = _market_run(tmp_path, lang)
    headline = json.loads((tmp_path / "all" / "headline.json").read_text("utf-8"))
    headline["bridge"] = {"revenue_prev": 415_035_962.0, "change": 11_904_155.0,
                          "driver": "new", "driver_amount": 20_545_413.0,
                          "driver_net": 9_007_696.0}
    (tmp_path / "all" / "headline.json").write_text(json.dumps(headline), encoding="utf-8")
    story = BeautifulSoup(write_index(tmp_path, regions, meta=meta).read_text("utf-8"),
                          "html.parser").find(id="market")
    driver = story.find("p", class_="driver")
    assert driver.get_text(" ", strip=True) == (
        "Why revenue changed: +2.9% on the previous period; the largest driver: new customers "
        "(+20.5 M CNY) ( revenue_bridge.csv )" if lang == "en" else
        "收入为何变化：较上期 +2.9%；最大驱动因素：新客户（+2,055万元） ( revenue_bridge.csv )")
    assert driver.find("a")["href"] == "all/revenue_bridge.csv"
    # no bridge (the data do not cover the previous period): no sentence
    del headline["bridge"]
    (tmp_path / "all" / "headline.json").write_text(json.dumps(headline), encoding="utf-8")
    assert 'class="driver"' not in write_index(tmp_path, regions, meta=meta).read_text("utf-8")
