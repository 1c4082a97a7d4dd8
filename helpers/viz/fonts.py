"""A CJK font for matplotlib, so Chinese labels render without tofu boxes.

The font comes from the ``mplfonts`` package (installed from PyPI with the other
requirements), which ships Noto Sans CJK SC. Nothing is downloaded at run time and
``mplfonts init`` is never called: the font file is registered directly with
matplotlib's font manager.
"""

from __future__ import annotations

import importlib.util
import warnings
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
_FALLBACK = "DejaVu Sans"

_family: str | None = None


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


def use_cjk_font() -> str:
    """Make matplotlib render Chinese text; return the CJK font family used.

    Registers Noto Sans CJK SC from the ``mplfonts`` package (or the first CJK
    font found on the system) and puts it first in ``font.sans-serif``, keeping
    DejaVu Sans as a fallback, and sets ``axes.unicode_minus = False`` (CJK fonts
    lack the Unicode minus glyph). Safe to call many times.

    Returns
    -------
    str
        The font family name, e.g. ``"Noto Sans CJK SC"``; ``"DejaVu Sans"`` with
        a warning when no CJK font is available.
    """
    global _family
    if _family is None:
        found = _find_font()
        if found is None:
            warnings.warn(
                "No CJK font found (install mplfonts); Chinese text will not render.",
                stacklevel=2,
            )
        _family = found or _FALLBACK
    sans = [f for f in mpl.rcParams["font.sans-serif"] if f not in (_family, _FALLBACK)]
    mpl.rcParams["font.sans-serif"] = [_family, _FALLBACK, *sans]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return _family
