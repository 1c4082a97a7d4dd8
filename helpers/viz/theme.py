"""The look of the workbook's charts, applied once: fonts (with a CJK font) and minus signs.

Like seaborn's ``set_theme``, the theme is one explicit call, :func:`apply`, made by
:func:`helpers.context.open_step` when a notebook opens; the chart functions
(:mod:`helpers.viz.charts`) never touch ``matplotlib.rcParams``. :func:`rc` gives the
same settings as a dict, for ``matplotlib.rc_context(theme.rc())`` around code that
draws *and saves* a figure without changing the session (a notebook's inline backend
draws a figure after its cell has run, outside such a context, so notebooks apply
the theme).

The CJK font comes from the ``mplfonts`` package (installed from PyPI with the other
requirements), which ships Noto Sans CJK SC. Nothing is downloaded at run time and
``mplfonts init`` is never called: the font file is registered with matplotlib's font
manager (which only makes the font findable by name; no setting changes). The font is
used in English reports too: names from the data (a customer, a territory from
``workbook.yaml``) may be Chinese in any report.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from functools import cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

# Preferred files inside mplfonts/fonts, best first (sans-serif faces only).
_MPLFONTS_FILES = ("NotoSansCJKsc-Regular.otf", "SourceHanSansSC-Regular.otf", "SimHei.ttf")
# System families used when mplfonts is absent.
_SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)
#: matplotlib's own font: the fallback for glyphs the CJK font lacks.
FALLBACK_FONT = "DejaVu Sans"

#: Pixels per inch of the charts in the reports (``figure.dpi``; the notebooks' inline
#: PNGs are drawn at it): matplotlib's default, set so that a user's ``matplotlibrc``
#: cannot make every chart slower to draw and heavier to embed. Measured on notebook
#: 03's seven charts (issue 16, sample data): 72 or 80 instead of 100 saves
#: about 30% of the PNG bytes and no measurable drawing time (text layout, done twice
#: for the tight bounding box, is the cost), and the 10 pt labels get small.
DPI = 100


def _mplfonts_dir() -> Path | None:
    # find_spec locates the package without importing it (its __init__ pulls in a CLI).
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def _find_font() -> str | None:
    folder = _mplfonts_dir()
    if folder is not None:
        for filename in _MPLFONTS_FILES:
            path = folder / filename
            if path.is_file():
                font_manager.fontManager.addfont(str(path))
                return font_manager.FontProperties(fname=str(path)).get_name()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in _SYSTEM_FAMILIES:
        if family in installed:
            return family
    return None


@cache
def cjk_font() -> str:
    """The family of the CJK font the theme uses, registered with matplotlib.

    Returns
    -------
    str
        Noto Sans CJK SC from ``mplfonts`` (or the first CJK font found on the
        system); :data:`FALLBACK_FONT`, with a warning, when there is none.
    """
    found = _find_font()
    if found is None:
        warnings.warn("No CJK font found (install mplfonts); Chinese text will not render.",
                      stacklevel=2)
    return found or FALLBACK_FONT


def rc() -> dict[str, object]:
    """The theme's matplotlib settings.

    Returns
    -------
    dict
        ``font.family`` sans-serif; ``font.sans-serif`` the CJK font first, then
        DejaVu Sans and matplotlib's default list; ``axes.unicode_minus`` False
        (CJK fonts lack the Unicode minus glyph); ``figure.dpi`` :data:`DPI`. Built from matplotlib's defaults,
        never from the current settings, so it is the same in every session.
    """
    family = cjk_font()
    defaults = [f for f in mpl.rcParamsDefault["font.sans-serif"]
                if f not in (family, FALLBACK_FONT)]
    return {
        "font.family": ["sans-serif"],
        "font.sans-serif": [family, FALLBACK_FONT, *defaults],
        "axes.unicode_minus": False,
        "figure.dpi": DPI,
    }


def apply() -> None:
    """Set the theme in ``matplotlib.rcParams`` (the one place charts' settings change),
    and in a notebook with the inline backend have each figure drawn once
    (:func:`draw_once`).

    Called by :func:`helpers.context.open_step`; calling it again changes nothing.
    """
    mpl.rcParams.update(rc())
    draw_once()


def draw_once() -> bool:
    """In an IPython kernel with the inline backend (Jupyter's default), leave pyplot's
    post-execute hook out; True when it is out.

    After every cell pyplot's hook draws each figure still open on its canvas (for
    interactive windows); the inline backend's hook, which runs after it, then draws the
    figure again into the PNG the notebook shows. The first drawing is thrown away: a
    third of a chart's time (the PNG comes out the same bytes). The hook is installed
    now (``pyplot.install_repl_displayhook``, which pyplot otherwise does at the first
    figure and never again) and unregistered. Other backends, and Python outside IPython,
    keep it.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    backend = mpl.get_backend(auto_select=False) or ""
    if shell is None or not backend.endswith(("inline", "backend_inline")):
        return False
    from matplotlib import pyplot

    hook = getattr(pyplot, "_draw_all_if_interactive", None)
    if hook is None:  # another matplotlib: its hook is left alone
        return False
    pyplot.install_repl_displayhook()
    if hook in shell.events.callbacks.get("post_execute", []):
        shell.events.unregister("post_execute", hook)
    return True
