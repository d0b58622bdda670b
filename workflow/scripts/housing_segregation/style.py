"""One plotting style for every figure: palettes, type, labels and deterministic saving."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

#: Okabe & Ito (2008) colourblind-safe qualitative palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

#: Sequential colormap for shares (ColorBrewer YlGnBu: colourblind- and print-safe).
SEQUENTIAL_CMAP = "YlGnBu"

GROUP_LABELS = {
    "white_nh": "non-Hispanic white",
    "black_nh": "Black",
    "hispanic": "Hispanic",
    "asian_nh": "Asian",
    "aian_nh": "American Indian and Alaska Native",
    "nhpi_nh": "Native Hawaiian and Pacific Islander",
    "other_nh": "some other race",
    "two_or_more_nh": "two or more races",
    "nonwhite": "all non-white",
    "below_poverty": "below poverty",
    "above_poverty": "above poverty",
}

GROUP_STYLES = {
    "black_nh": (OKABE_ITO["blue"], "o"),
    "hispanic": (OKABE_ITO["vermillion"], "s"),
    "asian_nh": (OKABE_ITO["bluish_green"], "^"),
    "nonwhite": (OKABE_ITO["black"], "D"),
    "aian_nh": (OKABE_ITO["reddish_purple"], "v"),
    "nhpi_nh": (OKABE_ITO["orange"], "P"),
    "other_nh": (OKABE_ITO["sky_blue"], "X"),
    "two_or_more_nh": (OKABE_ITO["yellow"], "h"),
}

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # Fixed salt and no dates: reruns give byte-identical SVG and PDF files.
    "svg.hashsalt": "housing-segregation",
    "pdf.compression": 6,
}

#: PDF metadata left out: dates and producer strings would differ between identical runs.
PDF_METADATA: dict[str, None] = {
    "CreationDate": None,
    "ModDate": None,
    "Producer": None,
    "Creator": None,
}

#: PNG resolution: print quality at half-page width.
DPI = 300


def acs_period(year: int) -> str:
    """The 5-year period an ACS end year covers, e.g. 2023 -> "2019–2023"."""
    return f"{year - 4}–{year}"


def acs_source(year: int) -> str:
    """The ACS tables every segregation and scenario figure rests on."""
    return (
        f"U.S. Census Bureau, American Community Survey {acs_period(year)} 5-year "
        "estimates, tables B03002, C17002 and B25003"
    )


def label(group: str) -> str:
    return GROUP_LABELS.get(group, group.replace("_", " "))


def source_line(fig: plt.Figure, text: str) -> None:
    """Print the data source and analysis credit along the bottom of a figure."""
    fig.text(0.01, 0.01, text, ha="left", va="bottom", fontsize=6.5, color="#444444", wrap=True)


def headline(fig: plt.Figure, title: str, subtitle: str) -> None:
    """A title stating the finding (up to two lines) over a plain line saying what is
    plotted, where and when. Positions are in inches from the top, so they hold for any
    figure height; leave 0.95 in above the axes."""
    height = fig.get_figheight()
    fig.text(0.01, 1 - 0.08 / height, title, ha="left", va="top", fontsize=11, fontweight="bold")
    fig.text(0.01, 1 - 0.62 / height, subtitle, ha="left", va="top", fontsize=8.5)


def save_figure(fig: plt.Figure, paths: str | Path | Iterable[str | Path]) -> None:
    """Save a figure to each path (PNG, SVG or PDF by suffix) without timestamps, software
    strings or random IDs, so reruns are byte-identical."""
    targets = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    # The SVG hash salt must be in force when the file is written, not only when drawn.
    with plt.rc_context(RC):
        for path in targets:
            metadata: dict[str, None] = {"Software": None}
            if path.suffix == ".svg":
                metadata = {"Date": None, "Creator": None}
            elif path.suffix == ".pdf":
                metadata = PDF_METADATA
            elif path.suffix != ".png":
                raise ValueError(f"{path}: figures are written as .png, .svg or .pdf")
            fig.savefig(path, dpi=DPI, metadata=metadata)
    plt.close(fig)
