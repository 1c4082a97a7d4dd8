"""The bar at the top of every report, its table of contents and the exports its text links.

Rendered from small executed notebooks (no kernel); the browser checks of the same
pages on a sample batch are in ``tests/test_report_layout.py``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat

from helpers.run.render import (
    DOWNLOADS,
    link_exports,
    navigation,
    refresh_navigation,
    render_html,
    table_of_contents,
)

STEPS = ["01_goals.ipynb", "02_data_prep.ipynb", "03_visualization.ipynb", "04_insight.ipynb",
         "05_strategy.ipynb"]


class _Links(HTMLParser):
    """Every ``<a>`` of a fragment: (attributes, text)."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[dict, str]] = []
        self._open: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open, "".join(self._text).strip()))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)


def _links(fragment: str) -> list[tuple[dict, str]]:
    parser = _Links()
    parser.feed(fragment)
    return parser.links


def _bar(page: str) -> str:
    return page[page.index("<!--wb-nav-->"):page.index("<!--/wb-nav-->")]


def _notebook(path: Path, headings: int = 5, text: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Strategy\n\n" + text)]
    nb.cells += [nbformat.v4.new_markdown_cell(f"## Section {i}\n\nWords {i}.")
                 for i in range(1, headings + 1)]
    nbformat.write(nb, path)
    return path


def test_the_bar_links_what_exists_and_marks_the_current_step(tmp_path):
    for name in ("01_goals.html", "02_data_prep.html", "04_insight.html", "actions.xlsx",
                 "budget.csv"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    bar = navigation(tmp_path / "02_data_prep.html", STEPS, "en")
    links = _links(bar)
    hrefs = [a["href"] for a, _ in links]
    assert hrefs[0] == "../index.html" and links[0][1] == "All regions"
    # steps: 03 and 05 have no page, so they are not links; previous/next skip 03
    assert [h for h in hrefs if h.endswith(".html") and h != "../index.html"][:3] == [
        "01_goals.html", "02_data_prep.html", "04_insight.html"]
    assert "03_visualization.html" not in hrefs and "05_strategy.html" not in hrefs
    assert "03 Visualization" in bar  # shown, not linked
    current = [(a, t) for a, t in links if a.get("aria-current") == "page"]
    assert current == [({"class": "wb-current", "aria-current": "page",
                         "href": "02_data_prep.html"}, "02 Data prep")]
    prev = [a["href"] for a, _ in links if a.get("rel") == "prev"]
    nxt = [a["href"] for a, _ in links if a.get("rel") == "next"]
    assert prev == ["01_goals.html"] and nxt == ["04_insight.html"]
    # downloads: only the files there, in the bar's order, relative
    downloads = [(a["href"], t) for a, t in links if "download" in a]
    assert downloads == [("actions.xlsx", "Action list (Excel)"), ("budget.csv", "Budget")]
    assert all(not h.startswith(("/", "file:")) for h in hrefs)


def test_the_bar_speaks_the_reports_language(tmp_path):
    (tmp_path / "campaign_list.csv").write_text("x", encoding="utf-8")
    bar = navigation(tmp_path / "05_strategy.html", STEPS, "zh")
    texts = [t for _, t in _links(bar)]
    assert texts[0] == "所有地区" and "05 策略" in texts and "客户活动名单" in texts
    assert "下载" in bar and "Downloads" not in bar
    assert not [a for a, _ in _links(bar) if a.get("rel") == "next"]  # the last step


def test_every_download_has_words_in_both_languages():
    from helpers.text.lookup import catalog

    assert list(catalog()["download"]) == list(DOWNLOADS)


def test_the_table_of_contents_lists_the_h2_headings_of_a_long_report(tmp_path):
    page = render_html(_notebook(tmp_path / "05_strategy.ipynb"), tmp_path / "05_strategy.html",
                       title="05", index_href="../index.html", steps=STEPS)
    html = page.read_text(encoding="utf-8")
    toc = html[html.index('<nav class="wb-toc"'):]
    toc = toc[:toc.index("</nav>")]
    links = _links(toc)
    assert [t for _, t in links] == [f"Section {i}" for i in range(1, 6)]
    for attrs, _ in links:  # each entry is an anchor on the page, no script
        assert f'id="{attrs["href"][1:]}"' in html
    assert "<script" not in toc and "on" not in "".join(k for a, _ in links for k in a)
    short = render_html(_notebook(tmp_path / "01_goals.ipynb", headings=2),
                        tmp_path / "01_goals.html", title="01", steps=STEPS)
    assert 'class="wb-toc"' not in short.read_text(encoding="utf-8")
    assert table_of_contents("<h2>no id</h2>" * 9) == ""


def test_refresh_links_the_later_steps_and_downloads(tmp_path):
    mention = "All of it is in `actions.xlsx` and `campaign_list.csv`."
    first = render_html(_notebook(tmp_path / "01_goals.ipynb", text=mention),
                        tmp_path / "01_goals.html", title="01", index_href="../index.html",
                        steps=STEPS)
    before = first.read_text(encoding="utf-8")
    assert "02_data_prep.html" not in _bar(before) and "actions.xlsx" not in _bar(before)
    assert 'class="wb-file"' not in before  # the files are not there yet
    (tmp_path / "02_data_prep.html").write_text("x", encoding="utf-8")
    (tmp_path / "actions.xlsx").write_text("x", encoding="utf-8")
    assert refresh_navigation(tmp_path, STEPS, "en") == [first]
    after = first.read_text(encoding="utf-8")
    hrefs = [a["href"] for a, _ in _links(_bar(after))]
    assert "02_data_prep.html" in hrefs and "actions.xlsx" in hrefs
    assert after.count("<!--wb-nav-->") == 1
    # the mention of the file there became a link; the one of a missing file did not
    assert '<a class="wb-file" href="actions.xlsx"><code>actions.xlsx</code></a>' in after
    assert "<code>campaign_list.csv</code>" in after and 'href="campaign_list.csv"' not in after
    assert refresh_navigation(tmp_path, STEPS, "en") == []  # nothing changed: not rewritten


def test_link_exports_links_existing_files_once(tmp_path):
    (tmp_path / "actions.csv").write_text("x", encoding="utf-8")
    page = "<p>See <code>actions.csv</code>, <code>x.csv</code> and <code>../actions.csv</code>.</p>"
    once = link_exports(page, tmp_path)
    assert once.count('href="actions.csv"') == 1 and "<code>x.csv</code>" in once
    assert "<code>../actions.csv</code>" in once  # a path is not a file beside the page
    assert link_exports(once, tmp_path) == once


def test_link_exports_leaves_a_name_only_right_after_its_own_link(tmp_path):
    """A name is linked already only when the tag right before its ``<code>`` is a
    ``wb-file`` link; after another tag, text or a ``wb-file`` link that closed earlier it
    is linked; a page's embedded images around it change nothing."""
    (tmp_path / "budget.csv").write_text("x", encoding="utf-8")
    image = '<img src="data:image/png;base64,' + "iVBOR" * 200_000 + '">'
    linked = '<a class="wb-file" href="budget.csv"><code>budget.csv</code></a>'
    page = (f"{image}<p>{linked} then <b><code>budget.csv</code></b> and "
            f'<a class="wb-file" href="budget.csv">budget</a> <code>budget.csv</code></p>{image}')
    out = link_exports(page, tmp_path)
    assert out.count(linked) == 3
    assert out.startswith(image) and out.endswith(f"</p>{image}")
