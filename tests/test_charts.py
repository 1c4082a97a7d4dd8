"""Charts, labels and the theme (the CJK font), on small hand-made frames."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from helpers.viz import charts, theme  # noqa: E402
from helpers.viz.charts import (  # noqa: E402
    SEGMENT_COLORS,
    plot_cohort_retention,
    plot_customers_vs_revenue,
    plot_lorenz,
    plot_order_values,
    plot_region_bars,
    plot_segment_mix,
    plot_share,
    plot_trend,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def kpis():
    """20 regions with revenue 20, 19, ..., 1 (x 10k) and customers 2 x rank."""
    n = 20
    return pd.DataFrame(
        {
            "region": [f"地区{i}" for i in range(n)],
            "region_en": [f"Region {i}" for i in range(n)],
            "level": "province",
            "lat": np.linspace(20, 45, n),
            "lon": np.linspace(90, 125, n),
            "customers": np.arange(n, 0, -1) * 2,
            "revenue": np.arange(n, 0, -1) * 10_000.0,
        }
    )


def _bars(ax):
    return [p for p in ax.patches if p.get_width() or p.get_height()]


def _twin(ax):
    return next(other for other in ax.figure.axes if other is not ax)


# --- theme -------------------------------------------------------------------


@pytest.fixture
def themed():
    """Draw under the theme, as a notebook does after open_step, and put rcParams back."""
    with matplotlib.rc_context(theme.rc()):
        yield


def _settings() -> dict:
    return dict(matplotlib.rcParams)


def test_theme_puts_the_cjk_font_first_without_touching_rcparams():
    before = _settings()
    rc = theme.rc()
    assert _settings() == before  # asking for the theme changes nothing
    family = theme.cjk_font()
    assert family == "Noto Sans CJK SC"
    sans = rc["font.sans-serif"]
    assert sans[0] == family and sans[1] == "DejaVu Sans" and sans.count(family) == 1
    assert rc["font.family"] == ["sans-serif"] and rc["axes.unicode_minus"] is False
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert "mplfonts" in path


def test_theme_apply_sets_the_rc_and_again_changes_nothing():
    with matplotlib.rc_context({"font.sans-serif": ["Arial"], "axes.unicode_minus": True}):
        theme.apply()
        applied = _settings()
        assert {key: applied[key] for key in theme.rc()} == theme.rc()
        theme.apply()
        assert _settings() == applied


def test_outside_a_kernel_the_theme_leaves_pyplots_hook_alone():
    assert theme.draw_once() is False  # no IPython shell here


_DRAWS = (
    "import matplotlib.pyplot as plt, sys\n"
    "fig, ax = plt.subplots()\nax.plot([1, 3, 2])\nax.set_title('drawn')\nsys.draws = []\n"
    "fig.canvas.mpl_connect('draw_event', lambda event: sys.draws.append(1))"
)


@pytest.mark.kernel
def test_in_a_notebook_the_inline_backend_draws_a_figure_once(tmp_path):
    """With the theme applied, a figure left open at the end of a cell is drawn for its
    PNG only (a layout pass and the drawing: 2 draw events), not a third time first by
    pyplot's hook; the PNG is the same bytes as with the hook."""
    import base64

    import nbformat
    from stubs import stub_notebook

    from helpers.run.engine import PapermillEngine, ensure_kernel

    ensure_kernel("python3")
    engine = PapermillEngine(timeout=120)  # a new kernel each: the hook as Jupyter has it
    results = {}
    for name, first in (("theme", "from helpers.viz import theme\nprint('once', theme.draw_once())"),
                        ("plain", "print('once', None)")):
        notebook = stub_notebook(tmp_path / f"{name}.ipynb", "x = 1", first, _DRAWS,
                                 "print('draws', len(sys.draws))")
        out = tmp_path / "out" / f"{name}.ipynb"
        engine.execute(notebook, out, {}, tmp_path)
        nb = nbformat.read(out, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        text = "".join(o.get("text", "") for o in outputs)
        (png,) = [base64.b64decode(o["data"]["image/png"]) for o in outputs
                  if "image/png" in o.get("data", {})]
        results[name] = (text, png)
    assert "once True" in results["theme"][0] and "draws 2" in results["theme"][0]
    assert "draws 3" in results["plain"][0]
    assert results["theme"][1] == results["plain"][1]



def test_charts_are_drawn_at_the_themes_dpi_whatever_matplotlibrc_says(themed):
    """A 6 x 4 inch chart is a 600 x 400 pixel PNG, even when the user's settings ask
    for 200 pixels per inch (four times the pixels to draw and embed)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    assert theme.rc()["figure.dpi"] == theme.DPI == 100
    with matplotlib.rc_context({"figure.dpi": 200}):
        theme.apply()
        figure = plt.figure(figsize=(6, 4))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
    assert Image.open(buffer).size == (600, 400)


def test_open_step_applies_the_theme(tmp_path):
    from helpers.context import open_step

    plain = {"font.sans-serif": ["DejaVu Sans"], "axes.unicode_minus": True}
    with matplotlib.rc_context(plain), pd.option_context("display.max_colwidth", 50,
                                                          "display.float_format", None):
        open_step(run_dir=str(tmp_path / "run"), lang="zh")
        assert {key: matplotlib.rcParams[key] for key in theme.rc()} == theme.rc()


def test_chinese_chart_renders_in_the_cjk_font_without_missing_glyphs(tmp_path, themed, kpis):
    ax = plot_region_bars(kpis.assign(revenue=-kpis["revenue"]), top=3, lang="zh")
    ax.set_title("广东省 客户数 收入占比 -5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax.figure.savefig(tmp_path / "zh.png")
    missing = [w for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    for text in (ax.title, ax.get_yticklabels()[0], ax.get_xticklabels()[1]):
        assert "NotoSansCJK" in font_manager.findfont(text.get_fontproperties())


#: A cohort grid (helpers.analysis.cohorts.cohort_retention): 2024Q1 keeps 3 of 4
#: customers the next quarter, 2024Q2 1 of 4.
_COHORTS = pd.DataFrame({"cohort": ["2024Q1", "2024Q1", "2024Q1", "2024Q2", "2024Q2"],
                         "quarter": [0, 1, 2, 0, 1], "retention": [1.0, 0.75, 0.5, 1.0, 0.25],
                         "revenue_retention": [1.0, 0.9, 0.4, 1.0, 1.2]})
#: One row of a revenue bridge: 100 -> 130 (new +50, lost -30, more +20, less -15, mix +5).
BRIDGE_ROW = {"revenue_prev": 100.0, "from_new": 50.0, "from_lost": -30.0, "from_more": 20.0,
              "from_less": -15.0, "from_mix": 5.0, "revenue": 130.0, "change": 30.0,
              "driver": "new"}


def _chart_calls(kpis, monthly, lang):
    """One call of every chart function."""
    segment_table = pd.DataFrame({"province": ["广东省", "浙江省", "广东省"],
                                  "segment": ["champions", "lost", "loyal"]})
    return {
        "plot_region_bars": lambda: plot_region_bars(kpis, lang=lang),
        "plot_share": lambda: plot_share(kpis, lang=lang),
        "plot_trend": lambda: plot_trend(monthly, hue="channel", lang=lang),
        "plot_customers_vs_revenue": lambda: plot_customers_vs_revenue(kpis, lang=lang),
        "plot_lorenz": lambda: plot_lorenz(kpis, lang=lang),
        "plot_order_values": lambda: plot_order_values(
            pd.DataFrame({"amount": [10.0, 100.0, -5.0]}), lang=lang),
        "plot_segment_mix": lambda: plot_segment_mix(segment_table, lang=lang),
        "plot_cohort_retention": lambda: plot_cohort_retention(_COHORTS, lang=lang),
        "plot_revenue_bridge": lambda: charts.plot_revenue_bridge(BRIDGE_ROW, lang=lang),
        "plot_order_sizes": lambda: charts.plot_order_sizes(_ORDER_SIZES, lang=lang),
        "plot_seasonality": lambda: charts.plot_seasonality(_SEASONS, lang=lang),
        "plot_forecast": lambda: charts.plot_forecast(_FORECAST_PATH, _FORECAST_ROW, months=3,
                                                      level=0.8, lang=lang),
    }


#: A forecast by hand: six months of history (1.0 M .. 1.5 M), then three forecast months
#: with their own intervals; the totals of the three months: 12.3 M in 10.1 M .. 14 M.
_FORECAST_PATH = pd.DataFrame({
    "month_end": pd.date_range("2025-01-31", periods=9, freq="ME"),
    "kind": ["actual"] * 6 + ["forecast"] * 3,
    "revenue": [1.0e6, 1.1e6, 1.2e6, 1.3e6, 1.4e6, 1.5e6, 4.0e6, 4.1e6, 4.2e6],
    "low": [np.nan] * 6 + [3.3e6, 3.2e6, 3.1e6],
    "high": [np.nan] * 6 + [4.6e6, 4.7e6, 4.9e6]})
_FORECAST_ROW = {"forecast": 12.3e6, "forecast_low": 10.1e6, "forecast_high": 14.0e6}


#: Step 4's order-size quantiles and month-of-year index, by hand.
_ORDER_SIZES = pd.DataFrame({"region": ["ALL", "广东省", "浙江省"], "orders": [30, 20, 10],
                             "order_p10": [10.0, 12.0, 8.0], "order_q1": [20.0, 25.0, 15.0],
                             "order_median": [50.0, 60.0, 40.0], "order_q3": [90.0, 95.0, 70.0],
                             "order_p90": [200.0, 210.0, 150.0]})
_SEASONS = pd.DataFrame({"region": ["ALL"], "reason_key": [""], "p": [0.001],
                         "significant": [True], "peak_month": [12], "peak_index": [130.0],
                         "low_month": [2], "low_index": [70.0],
                         **{f"m{m}": [v] for m, v in zip(range(1, 13), [80, 70, 100, 100, 100,
                                                                      110, 100, 100, 100, 90,
                                                                      120, 130], strict=True)}})


@pytest.mark.parametrize(("session", "lang"), [("matplotlib defaults", "en"), ("themed", "zh")])
def test_charts_leave_rcparams_unchanged(kpis, monthly, session, lang):
    calls = _chart_calls(kpis, monthly, lang)
    assert set(calls) == {name for name in vars(charts) if name.startswith("plot_")}
    start = theme.rc() if session == "themed" else {"font.sans-serif": ["DejaVu Sans"],
                                                    "axes.unicode_minus": True}
    with matplotlib.rc_context(start):
        before = _settings()
        for name, call in calls.items():
            ax = call()
            ax.figure.canvas.draw()
            assert _settings() == before, f"{name} changed matplotlib.rcParams"


# --- region bars ---------------------------------------------------------------


def test_region_bars_top_then_the_rest_in_a_note_not_a_bar(kpis):
    before = kpis.copy()
    ax = plot_region_bars(kpis, top=5)
    bars = _bars(ax)
    assert len(bars) == 5  # no "Others" bar: the 15 others (1.2M) would dwarf 200k
    widths = [b.get_width() for b in bars]
    assert widths == [200_000, 190_000, 180_000, 170_000, 160_000]
    assert max(widths) == widths[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Region 0" and labels[-1] == "Others"
    # the rest: 15 + 14 + ... + 1 = 120 (x 10k) = 1.2M of 2.1M = 57%
    assert [t.get_text() for t in ax.texts] == [" 15 more provinces: 1.2 M CNY together (57%)"]
    assert ax.get_title() == ("Region 0 leads with 10% of revenue\n"
                              "the top 3 of 20 provinces bring 27%")
    pd.testing.assert_frame_equal(kpis, before)


def test_region_bars_title_states_the_top_three_share():
    # 3 of 10 regions bring 20 + 15 + 14 = 49 of 100
    data = pd.DataFrame({"region": list("ABCDEFGHIJ"), "level": "city",
                         "revenue": [20.0, 15, 14, 8, 8, 8, 8, 7, 6, 6]})
    ax = plot_region_bars(data, top=4)
    assert ax.get_title() == "A leads with 20% of revenue\nthe top 3 of 10 cities bring 49%"
    assert max(b.get_width() for b in _bars(ax)) == 20.0
    assert "6 more cities: 43 CNY together (43%)" in ax.texts[0].get_text()
    zh = plot_region_bars(data, top=4, lang="zh")
    assert zh.get_title() == "A收入占比最高（20%）\n前3个城市（共10个）合计占49%"
    assert "其余6个城市合计43元（43%）" in zh.texts[0].get_text()
    customers = plot_region_bars(data.assign(customers=data["revenue"] * 100), top=3,
                                 value="customers")
    assert customers.get_title().startswith("A leads with 20% of customers")
    assert customers.texts[0].get_text() == " 7 more cities: 5,100 together (51%)"
    assert customers.get_xlabel() == "Customers"


def test_region_bars_money_axis_names_currency_and_unit(kpis):
    ax = plot_region_bars(kpis, top=5, currency="USD")
    assert ax.get_xlabel() == "Revenue (USD, k)"
    assert ax.xaxis.get_major_formatter()(150_000, 0) == "150"
    millions = plot_region_bars(kpis.assign(revenue=kpis["revenue"] * 100), top=5)
    assert millions.get_xlabel() == "Revenue (CNY, M)"
    assert millions.xaxis.get_major_formatter()(12_500_000, 0) == "12.5"


def test_region_bars_no_others_when_all_fit(kpis):
    ax = plot_region_bars(kpis.head(4), top=15, value="customers")
    assert len(_bars(ax)) == 4
    assert "Others" not in [t.get_text() for t in ax.get_yticklabels()]
    assert list(ax.texts) == []


def test_region_bars_chinese_and_given_ax(kpis):
    fig, ax = plt.subplots()
    out = plot_region_bars(kpis, top=3, lang="zh", ax=ax)
    assert out is ax and len(fig.axes) == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "地区0" and labels[-1] == "其他"
    assert ax.get_title() == "地区0收入占比最高（10%）\n前3个省份（共20个）合计占27%"
    assert ax.get_xlabel() == "收入（万元）"
    assert ax.xaxis.get_major_formatter()(200_000, 0) == "20"
    assert ax.texts[0].get_text() == " 其余17个省份合计153万元（73%）"


def test_region_bars_skips_missing_values(kpis):
    data = kpis.assign(revenue=kpis["revenue"].where(kpis.index != 0))
    ax = plot_region_bars(data, top=50)
    assert len(_bars(ax)) == 19


# --- Pareto --------------------------------------------------------------------


def test_share_pareto(kpis):
    ax = plot_share(kpis)
    bars = _bars(ax)
    assert len(bars) == 20
    heights = [b.get_height() for b in bars]
    assert heights == sorted(heights, reverse=True)
    assert sum(heights) == pytest.approx(1.0)
    twin = _twin(ax)
    cumulative = twin.lines[0].get_ydata()
    assert cumulative[-1] == pytest.approx(1.0)
    assert np.all(np.diff(cumulative) >= 0)
    assert any(line.get_ydata()[0] == pytest.approx(0.8) for line in twin.lines[1:])
    # revenue 20..1 -> total 210; the top 11 make 20+...+10 = 165 = 78.6%, top 12 = 174 = 82.9%
    notes = [c.get_text() for c in twin.get_children() if isinstance(c, Annotation)]
    assert notes == ["12 of 20 regions make 80%"]
    assert ax.get_title() == "12 of 20 provinces bring 80% of revenue"


def test_share_chinese(kpis):
    ax = plot_share(kpis, value="customers", lang="zh")
    assert ax.get_title() == "12/20个省份贡献80%的客户数"
    notes = [c.get_text() for c in _twin(ax).get_children() if isinstance(c, Annotation)]
    assert notes == ["12/20 个地区贡献80%"]


# --- trend ---------------------------------------------------------------------


@pytest.fixture
def monthly():
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    rows = []
    for g, scale in zip("ABCDEFGH", range(8, 0, -1), strict=True):
        for month in months:
            rows.append({"month": month, "channel": g, "revenue": scale * 1000.0, "orders": scale})
    return pd.DataFrame(rows)


def test_trend_single_line(monthly):
    ax = plot_trend(monthly)
    assert len(ax.lines) == 1
    assert list(ax.lines[0].get_ydata()) == [36_000.0] * 6


def test_trend_top_groups(monthly):
    ax = plot_trend(monthly, hue="channel", top=3, value="orders")
    assert [line.get_label() for line in ax.lines] == ["A", "B", "C"]
    assert ax.get_legend() is not None


def test_trend_chinese(monthly):
    ax = plot_trend(monthly, lang="zh")
    assert ax.get_xlabel() == "月份"
    assert ax.get_ylabel() == "收入（万元）"
    assert ax.get_title() == "最近3个月收入与之前3个月持平"  # six flat months


def test_trend_title_states_the_change_and_who_led_it():
    # 24 months: the last 12 against the 12 before. 广东 100 -> 130 a month, 浙江 50 -> 40:
    # before 12 * 150 = 1,800, after 12 * 170 = 2,040, +13%; Guangdong rose most.
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    rows = [{"month": m, "province": p, "revenue": v * 1000.0}
            for i, m in enumerate(months)
            for p, v in (("广东省", 100 if i < 12 else 130), ("浙江省", 50 if i < 12 else 40))]
    monthly = pd.DataFrame(rows)
    found = charts.trend_change(monthly, hue="province")
    assert found["months"] == 12 and found["change"] == pytest.approx(2040 / 1800 - 1)
    assert found["lead"] == "广东省"
    ax = plot_trend(monthly, hue="province")
    assert ax.get_title() == ("Revenue up 13% in the last 12 months against the 12 before, "
                              "led by Guangdong")
    assert ax.get_ylabel() == "Revenue (CNY, k)"
    zh = plot_trend(monthly, hue="province", lang="zh")
    assert zh.get_title() == "最近12个月收入比之前12个月增长13%，广东省增长最多"
    falling = monthly.assign(revenue=monthly["revenue"].where(
        ~((monthly["province"] == "浙江省") & (monthly["month"] >= months[12])), 0.0))
    # after: 12 * 130 = 1,560 against 1,800: -13%; Zhejiang fell most (-600)
    down = plot_trend(falling, hue="province")
    assert down.get_title() == ("Revenue down 13% in the last 12 months against the 12 before; "
                                "largest drop: Zhejiang")
    assert charts.trend_change(monthly.head(10)) is None  # five months: no title to state
    # one group (a one-region report): its only line is the whole change, no "largest drop"
    alone = monthly[monthly["province"] == "浙江省"]  # 600 -> 480 a year: -20%
    assert "lead" not in charts.trend_change(alone, hue="province")
    assert plot_trend(alone, hue="province").get_title() == (
        "Revenue down 20% in the last 12 months against the 12 before")
    assert plot_trend(monthly[monthly["month"] < months[4]]).get_title() == "Monthly Revenue"


def test_trend_legend_sits_outside_the_plot(monthly):
    ax = plot_trend(monthly, hue="channel", top=3)
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1


# --- scatter -------------------------------------------------------------------


def test_customers_vs_revenue(kpis, themed):
    data = kpis.assign(customers=kpis["customers"].where(kpis.index != 19))
    ax = plot_customers_vs_revenue(data, annotate=5, flag=0)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 19
    assert [t.get_text() for t in ax.texts] == [f"Region {i}" for i in range(5)]
    zh = plot_customers_vs_revenue(kpis, annotate=2, lang="zh")
    assert zh.get_xlabel() == "客户数" and zh.get_ylabel() == "收入（万元）"
    assert "地区0" in [t.get_text() for t in zh.texts]


def test_scatter_labels_do_not_depend_on_how_busy_the_machine_is(kpis, themed, monkeypatch):
    """adjustText stops after a number of steps, not after a second of the clock: a clock
    that jumps (a machine too busy to finish in a second) leaves the labels where they were."""
    import adjustText

    def places():
        ax = plot_customers_vs_revenue(kpis, annotate=12, flag=3)
        found = [t.get_position() for t in ax.texts]
        plt.close(ax.figure)
        return found

    calm = places()
    ticks = iter(range(0, 10**6, 5))   # five seconds pass between two looks at the clock
    monkeypatch.setattr(adjustText, "timer", lambda: next(ticks))
    assert places() == calm and len(calm) >= 12


def test_scatter_draws_the_line_its_text_names_and_labels_the_regions_below():
    # slope = (100 + 300 + 200 + 400) / (10 + 10 + 20 + 20) = 1000 / 60 per customer;
    # gaps: A 100 - 166.7 = -66.7, B 300 - 166.7 = +133.3, C 200 - 333.3 = -133.3,
    # D 400 - 333.3 = +66.7: below the line C (furthest), then A.
    data = pd.DataFrame({"region": list("ABCD"), "customers": [10, 10, 20, 20],
                         "revenue": [100.0, 300.0, 200.0, 400.0]})
    line = charts.per_customer_line(data)
    assert line["slope"].iloc[0] == pytest.approx(1000 / 60)
    assert np.allclose(line["gap"], [-200 / 3, 400 / 3, -400 / 3, 200 / 3])
    ax = plot_customers_vs_revenue(data, annotate=0, flag=1)
    trend = ax.lines[0]
    x, y = trend.get_xdata(), trend.get_ydata()
    assert x[0] == 0 and y[0] == 0 and y[1] / x[1] == pytest.approx(1000 / 60)
    assert ax.get_title() == "Most room to up-sell: C\nbelow the market's 17 CNY per customer"
    assert sorted(t.get_text() for t in ax.texts) == ["B", "C"]  # furthest below and above
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Market average: 17 CNY per customer",
                      "Above the line (more revenue per customer)",
                      "Below the line (room to up-sell)"]
    below = ax.collections[1]  # orange points: C and A
    assert sorted(map(tuple, below.get_offsets())) == [(10, 100), (20, 200)]
    assert ax.get_ylabel() == "Revenue (CNY)"
    zh = plot_customers_vs_revenue(data, annotate=0, flag=2, lang="zh")
    assert zh.get_title() == "提升客户平均收入空间最大：C、A\n低于市场平均每客户17元"
    ax.figure.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1


def test_customers_vs_revenue_labels_do_not_overlap(themed):
    # eight small regions almost on one spot, two large ones far away
    data = pd.DataFrame({"region": [f"城市{i}" for i in range(10)],
                         "customers": [2, 2, 2, 2, 2.1, 2.1, 1.9, 1.9, 12, 13],
                         "revenue": [5e5, 5.2e5, 4.9e5, 5.1e5, 5e5, 5.3e5, 4.8e5, 5e5, 1.1e7, 1.3e7]})
    ax = plot_customers_vs_revenue(data, annotate=10, lang="zh")
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == 10
    overlapping = [(i, j) for i in range(10) for j in range(i + 1, 10)
                   if boxes[i].overlaps(boxes[j])]
    assert overlapping == []
    plt.close(ax.figure)


def test_trend_leaves_other_axes_alone(monthly, kpis):
    fig, (left, right) = plt.subplots(2, 1)  # autofmt_xdate would hide the top ticks
    plot_region_bars(kpis, ax=left)
    plot_trend(monthly, ax=right)
    fig.canvas.draw()
    labels = left.get_xticklabels()
    assert labels and all(t.get_visible() for t in labels)


def test_trend_legend_names_regions_in_the_report_language():
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    monthly = pd.DataFrame({"month": list(months) * 2, "province": ["广东省"] * 3 + ["浙江省"] * 3,
                            "revenue": [3.0, 3, 3, 1, 1, 1]})
    en = plot_trend(monthly, hue="province", lang="en")
    assert [t.get_text() for t in en.get_legend().get_texts()] == ["Guangdong", "Zhejiang"]
    assert en.get_legend().get_title().get_text() == "Province"
    plt.close("all")
    zh = plot_trend(monthly, hue="province", lang="zh")
    assert [t.get_text() for t in zh.get_legend().get_texts()] == ["广东省", "浙江省"]
    assert zh.get_legend().get_title().get_text() == "省份"
    named = plot_trend(monthly, hue="province", names={"广东省": "GD"}, lang="en")
    assert [t.get_text() for t in named.get_legend().get_texts()][0] == "GD"


# --- Lorenz ------------------------------------------------------------------------


def test_lorenz_curve_and_gini_by_hand():
    # values 1, 1, 1, 7: Gini = (-3*1 - 1*1 + 1*1 + 3*7) / (4 * 10) = 0.45;
    # the top 20% (1 of 4 units) hold 7 / 10.
    data = pd.DataFrame({"revenue": [7.0, 1.0, 1.0, 1.0]})
    ax = plot_lorenz(data, unit="regions")
    curve = ax.lines[1]
    assert list(curve.get_xdata()) == [0, 0.25, 0.5, 0.75, 1.0]
    assert np.allclose(curve.get_ydata(), [0, 0.1, 0.2, 0.3, 1.0])
    assert ax.get_legend().get_title().get_text() == "Gini 0.45"
    assert ax.get_title() == "The top 20% of regions bring 70% of revenue"


def test_lorenz_chinese_customers_and_series():
    ax = plot_lorenz(pd.Series([5.0, 5.0, -2.0]), unit="customers", lang="zh")
    # -2 counts as 0: values 0, 5, 5 -> Gini = (-2*0 + 0*5 + 2*5) / (3 * 10) = 1/3
    assert ax.get_legend().get_title().get_text() == "基尼系数 0.33"
    assert ax.get_title() == "前20%的客户贡献50%的收入"  # the top 1 of 3 holds 5 of 10
    assert ax.get_xlabel() == "客户累计占比(从小到大)"


# --- order values --------------------------------------------------------------------


def test_order_values_histogram_median_mean_and_returns():
    orders = pd.DataFrame({"amount": [100.0, 1_000.0, 1_000.0, 10_000.0, -50.0, 0.0]})
    ax = plot_order_values(orders, bins=10)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == 4  # the return and the zero line are left out...
    assert "2 return or zero lines" in ax.texts[0].get_text()  # ...and counted
    assert ax.get_xscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["median 1,000 CNY", "mean 3,025 CNY"]  # median 1,000; mean 12,100 / 4
    assert ax.get_title() == "Half of the order lines are below 1,000 CNY; the mean is 3,025 CNY"
    assert ax.get_xlabel() == "Order value (CNY, log scale)"
    zh = plot_order_values(orders, lang="zh")
    assert zh.get_title() == "一半订单行低于1,000元，平均值3,025元"
    assert zh.get_xlabel() == "订单金额（元，对数刻度）"
    assert "中位数 1,000元" in [t.get_text() for t in zh.get_legend().get_texts()]


# --- segment mix ---------------------------------------------------------------------


def test_segment_mix_shares_by_hand():
    data = pd.DataFrame({
        "province": ["广东省"] * 4 + ["浙江省"] + ["江苏省"] + [None],
        "segment": ["champions", "champions", "lost", "lost", "loyal", "at risk", "lost"],
    })
    ax = plot_segment_mix(data, top=1)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Guangdong", "Others"]
    # Bars are drawn segment by segment (best first): champions, loyal, at risk, lost.
    widths = np.array([p.get_width() for p in ax.patches]).reshape(4, 2)
    assert np.allclose(widths[0], [0.5, 0.0]) and np.allclose(widths[1], [0.0, 0.5])
    assert np.allclose(widths[2], [0.0, 0.5]) and np.allclose(widths[3], [0.5, 0.0])
    assert np.allclose(widths.sum(axis=0), 1.0)
    assert ax.patches[0].get_facecolor()[:3] == matplotlib.colors.to_rgb(SEGMENT_COLORS["champions"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Champions", "Loyal", "At risk", "Lost"]
    zh = plot_segment_mix(data, lang="zh")
    assert [t.get_text() for t in zh.get_yticklabels()] == ["广东省", "江苏省", "浙江省"]
    assert "重要价值客户" in [t.get_text() for t in zh.get_legend().get_texts()]
    # slipping (about to sleep, cannot lose them, at risk, hibernating): Jiangsu's one
    # customer is at risk (100%), Guangdong and Zhejiang have none
    assert zh.get_title() == "江苏省流失风险客户占比最高（100%，橙色和红色）"
    assert ax.get_title() == "Customer segments by region (RFM)"  # only "Others" slips


# --- cohort retention ------------------------------------------------------------


@pytest.mark.parametrize(("value", "lang", "title"), [
    ("retention", "en", "Buying again the next quarter: 75% of the 2024Q1 cohort, 25% of the "
                        "2024Q2 cohort"),
    ("retention", "zh", "下一季度再次购买：2024Q1 同期群 75%，2024Q2 同期群 25%"),
    ("revenue_retention", "en", "Revenue kept the next quarter: 90% for the 2024Q1 cohort, "
                                "120% for the 2024Q2 cohort"),
])
def test_cohort_heat_map_title_states_the_numbers(value, lang, title):
    ax = plot_cohort_retention(_COHORTS, value=value, lang=lang)
    assert ax.get_title() == title
    # quarter 0 (100% by definition) is left out; the cell not yet observed stays empty
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 3
    plt.close(ax.figure)
# --- revenue bridge ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_bridge_waterfall_steps_from_one_period_to_the_next(lang):
    ax = charts.plot_revenue_bridge(BRIDGE_ROW, lang=lang, currency="CNY")
    bars = sorted(ax.patches, key=lambda b: b.get_x())  # left to right
    assert len(bars) == 7  # previous, five parts, this period
    assert [round(b.get_y() + b.get_height(), 6) for b in bars[:1] + bars[-1:]] == [100.0, 130.0]
    # each part starts where the one before ended: 100 -> 150 -> 120 -> 140 -> 125 -> 130
    steps = [(round(b.get_y(), 6), round(b.get_y() + b.get_height(), 6)) for b in bars[1:-1]]
    assert steps == [(100, 150), (120, 150), (120, 140), (125, 140), (125, 130)]
    assert [b.get_facecolor()[:3] for b in bars[1:3]] == [
        matplotlib.colors.to_rgb(charts.RISE_COLOR), matplotlib.colors.to_rgb(charts.LINE_COLOR)]
    title = ax.get_title()
    assert "+30.0%" in title
    assert ("new customers (+50 CNY)" in title) if lang == "en" else ("新客户（+50元）" in title)
    assert ("CNY" in ax.get_ylabel()) if lang == "en" else ("元" in ax.get_ylabel())
    plt.close(ax.figure)
    no_mix = charts.plot_revenue_bridge(BRIDGE_ROW, lang=lang, mix=False)
    assert len(no_mix.patches) == 6
    plt.close(no_mix.figure)
    flat = charts.bridge_title({**BRIDGE_ROW, "change": 0.0, "driver": None}, lang)
    assert flat == ("Revenue unchanged on the previous period" if lang == "en"
                    else "收入与上期持平")


# --- revenue forecast ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_forecast_band_spans_each_months_interval_and_the_title_states_the_totals(lang):
    ax = charts.plot_forecast(_FORECAST_PATH, _FORECAST_ROW, months=3, level=0.8, lang=lang,
                              currency="CNY")
    (band,) = ax.collections  # the one band, from the last actual month to the third ahead
    vertices = band.get_paths()[0].vertices
    x = matplotlib.dates.num2date(vertices[:, 0])
    days = sorted({d.date().isoformat() for d in x})
    assert days == ["2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30"]
    by_day = {}
    for d, y in zip(x, vertices[:, 1], strict=True):
        by_day.setdefault(d.date().isoformat(), set()).add(round(float(y)))
    # no width at the last actual month; each forecast month from its low to its high
    assert by_day["2025-06-30"] == {1_500_000}
    assert by_day["2025-07-31"] == {3_300_000, 4_600_000}
    assert by_day["2025-08-31"] == {3_200_000, 4_700_000}
    assert by_day["2025-09-30"] == {3_100_000, 4_900_000}
    history, ahead = ax.lines[0], ax.lines[1]
    assert list(history.get_ydata()) == [1.0e6, 1.1e6, 1.2e6, 1.3e6, 1.4e6, 1.5e6]
    assert list(ahead.get_ydata()) == [1.5e6, 4.0e6, 4.1e6, 4.2e6]
    title = ax.get_title()
    if lang == "en":
        assert title == "Next 3 months: 12.3 M CNY expected (80% interval 10.1 M–14 M)"
        assert "CNY" in ax.get_ylabel()
    else:
        assert title == "未来3个月：预计1,230万元（80%区间 1,010万–1,400万）"
        assert "元" in ax.get_ylabel()
    assert ax.get_ylim()[0] == 0
    plt.close(ax.figure)
