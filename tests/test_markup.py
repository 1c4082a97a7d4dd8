"""Text from the data inside HTML, markdown and charts: shown as text, never as markup."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from helpers.text.markup import chart_text, html_text, md_text, unsafe_markup

PAYLOADS = [
    "[x](javascript:alert(1))",
    "`<img src=x onerror=alert(1)>`",
    "<script>alert(1)</script>",
    '" onmouseover="alert(1)" x="',
    "{{ cycler.__init__.__globals__.os.getpid() }} {% if 1 %}x{% endif %} {# c #}",
    "=HYPERLINK(\"http://example.com\",\"click\")",
    "**bold** _it_ ~~gone~~ # heading > quote",
    "1. first\n- item\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "$x^2$ and $$y$$ \\(z\\) \\[w\\] \\begin{equation}e\\end{equation}",
    "&lt; &amp; &#36; &copy;",
    "a\\b\\\\c\\`d",
    "<javascript:alert(1)> http://example.com www.example.com",
    "![img](x.png) [ref]: javascript:alert(1)",
    "广东省 · 深圳市（南山区） 50% +3 -2 @me ~tilde^ |pipe| :colon:",
    "",
]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def _render_markdown(source: str) -> str:
    """What nbconvert makes of a markdown output in a report (raw HTML and any link
    scheme allowed, math kept for MathJax)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(source)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_renders_as_exactly_the_text(payload):
    page = _render_markdown(f"**Region** {md_text(payload)} end")
    parsed = _Tags()
    parsed.feed(page)
    assert [t for t, _ in parsed.tags] == ["p", "strong"], page  # no tag from the data
    assert "".join(parsed.text).strip() == f"Region {' '.join(payload.split())} end".strip()
    assert unsafe_markup(page) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_stays_text_at_the_start_of_a_line_and_in_a_list(payload):
    page = _render_markdown(f"{md_text(payload)}\n\n- {md_text(payload)}")
    parsed = _Tags()
    parsed.feed(page)
    assert {t for t, _ in parsed.tags} <= {"p", "ul", "li"}, page
    assert unsafe_markup(page) == []


def test_md_text_by_hand():
    assert md_text("[x](javascript:alert(1))") == r"\[x\]\(javascript\:alert\(1\)\)"
    assert md_text("a`b") == "a&#96;b"  # never a code span
    assert md_text("line\nbreak\t and  tab") == "line break and tab"
    assert md_text("{{ 7*7 }}") == r"&#123;&#123; 7\*7 &#125;&#125;"
    assert md_text("$1 \\") == "&#36;1 &#92;"
    assert md_text(None) == "" and md_text(float("nan")) == "" and md_text(3) == "3"
    assert md_text("广东省") == "广东省"


def test_html_text_by_hand():
    assert html_text('<img src=x onerror="alert(1)">') == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;")
    assert html_text("`${x}` {{ y }} \\ '") == (
        "&#96;&#36;&#123;x&#125;&#96; &#123;&#123; y &#125;&#125; &#92; &#x27;")
    assert html.unescape(html_text("any <text> & 'quotes' {{ }}")) == "any <text> & 'quotes' {{ }}"
    assert html_text(None) == ""


def test_chart_text_keeps_dollars_literal():
    fig, ax = plt.subplots()
    names = ["$x^{2$ corp", "a $b$ c", "back\\slash $"]
    ax.set_yticks([0, 1, 2], labels=[chart_text(n) for n in names])
    ax.set_title(chart_text("$\\frac{$"))
    fig.canvas.draw()  # mathtext on these would raise
    assert [t.get_text() for t in ax.get_yticklabels()] == [chart_text(n) for n in names]
    assert chart_text("a $b$") == r"a \$b\$"
    plt.close(fig)


def test_unsafe_markup_finds_handlers_and_script_urls_only_in_tags():
    page = ('<p>&lt;img src=x onerror=alert(1)&gt; onclick=1</p>'
            '<a href=" java\tscript:alert(1)">x</a><img src=x ONERROR=alert(2)>'
            '<span title="x onclick=1">ok</span><a href="#top">ok</a>'
            '<iframe srcdoc="&lt;b onmouseover=&quot;alert(3)&quot;&gt;"></iframe>'
            '<script>var s = "<img onerror=alert(4)>";</script>')
    found = unsafe_markup(page)
    assert len(found) == 3, found
    assert "href" in found[0] and "onerror" in found[1] and "onmouseover" in found[2]
    assert unsafe_markup("<p>plain</p><a href='x.html'>link</a>") == []
