"""Figure captions and alt text: one source for the Snakemake report and ``figures/captions.md``.

**Design.** The caption files in ``workflow/report/`` (one ``<kind>.rst`` per kind of figure)
are the only copy of the prose. Snakemake renders them for ``--report`` (Jinja, then
reStructuredText, with ``snakemake.wildcards`` and ``snakemake.config`` in scope); this module
renders the same files with the same Jinja settings and context, splits off the alt text and
turns the small reStructuredText subset they use into Markdown for ``figures/captions.md``.
The reverse (Python templates, with ``.rst`` files holding ``{{ snakemake.params.caption }}``)
would need a caption param on every figure rule, so editing a caption would rerun the figures,
and the report's text would live outside ``workflow/report/`` where Snakemake expects it.

**Caption file format.** A caption file is Jinja over reStructuredText. It may use
``snakemake.wildcards`` (the figure's ``state``, ``year``, ``scenario``) and
``snakemake.config`` (the resolved configuration), nothing else, so that both renderings
agree. It ends with the alt text as a reStructuredText comment, which the report does not
show::

    Caption paragraphs ...

    .. alt text:
       What a screen-reader user needs: chart type, what is encoded, the main pattern.

Inline markup is limited to ``**bold**``, ``*italic*``, ````literal```` and
```text <url>`_`` links, which read the same in both formats once converted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import jinja2

from .regions import STATE_ABBREVIATIONS
from .style import acs_period

#: The caption files: workflow/report/, beside workflow/scripts/ that holds this package.
CAPTION_DIR = Path(__file__).resolve().parents[2] / "report"

#: Every figure is written in these formats, PNG first (style.save_figure).
FIGURE_FORMATS = (".png", ".svg", ".pdf")
#: Figures that are documents, written as PDF only (the fact sheet's pages).
DOCUMENT_FORMATS = (".pdf",)

#: Each kind of figure (its caption file's stem) and the file stem its rule writes, with the
#: wildcards of workflow/rules/common.smk.
FIGURE_KINDS = {
    "nonwhite_share": "nonwhite_share_{state}_{year}",
    "dissimilarity": "dissimilarity_{state}_{year}",
    "recaps": "recaps_{state}_{year}",
    "multiscalar_profile": "multiscalar_profile_{state}_{year}",
    "town_assisted_share": "town_assisted_share_{state}",
    "siting_shares": "siting_shares_{state}_{year}",
    "siting_model": "siting_model_{state}_{year}",
    "scenario_deltas": "scenario_deltas_{state}_{year}",
    "scenario_recaps": "scenario_recaps_{state}_{year}",
    "scenario_sensitivity": "scenario_sensitivity_{state}_{year}",
    "fair_share": "fair_share_{state}_{year}_{scenario}",
    "factsheet": "factsheet_{state}_{year}",
    "dissimilarity_timeseries": "dissimilarity_timeseries_{state}",
}
DOCUMENT_KINDS = frozenset({"factsheet"})
WILDCARD_PATTERNS = {"state": r"\d{2}", "year": r"\d{4}", "scenario": r"[a-z][a-z0-9_]*"}

ALT_TEXT_MARKER = ".. alt text:"


@dataclass(frozen=True)
class FigureCaption:
    """One figure's rendered caption (Markdown) and alt text (one line)."""

    stem: str
    kind: str
    wildcards: dict[str, str]
    caption: str
    alt_text: str

    @property
    def files(self) -> list[str]:
        return [f"{self.stem}{suffix}" for suffix in formats(self.kind)]


def formats(kind: str) -> tuple[str, ...]:
    """The files a kind of figure is written as, the first standing for all."""
    return DOCUMENT_FORMATS if kind in DOCUMENT_KINDS else FIGURE_FORMATS


def _stem_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for name, wildcard in WILDCARD_PATTERNS.items():
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>{wildcard})")
    return re.compile(pattern)


_STEM_REGEXES = {kind: _stem_regex(template) for kind, template in FIGURE_KINDS.items()}


def figure_kind(stem: str) -> tuple[str, dict[str, str]]:
    """The kind of figure a file stem names, and its wildcards:
    ``"fair_share_09_2023_fair_share_50k"`` -> ``("fair_share", {"state": "09", ...})``."""
    matches = [
        (kind, match.groupdict())
        for kind, regex in _STEM_REGEXES.items()
        if (match := regex.fullmatch(stem))
    ]
    if len(matches) != 1:
        problem = "no kind of figure" if not matches else "several kinds of figure"
        raise ValueError(f"figure {stem!r}: {problem} matches (captions.FIGURE_KINDS)")
    return matches[0]


def figure_subcategory(wildcards: Any, kind: str | None = None) -> str:
    """The report subcategory of a figure: its state and ACS period, e.g.
    ``"CT (09), ACS 2019–2023"``; without a year, ``"CT (09), time series"`` for the time
    series and ``"CT (09), town lists"`` for the town-list map.

    ``wildcards`` is Snakemake's wildcards object or any object with those attributes."""
    state = str(wildcards.state)
    place = f"{STATE_ABBREVIATIONS[state]} ({state})" if state in STATE_ABBREVIATIONS else state
    year = getattr(wildcards, "year", None)
    if year:
        return f"{place}, ACS {acs_period(int(year))}"
    return f"{place}, {'time series' if kind == 'dissimilarity_timeseries' else 'town lists'}"


def series_subcategory(wildcards: Any) -> str:
    return figure_subcategory(wildcards, kind="dissimilarity_timeseries")


def figure_files(paths: Iterable[str]) -> list[str]:
    """The figures among a version's outputs, each by the first file of its formats (the
    PNG of a chart or map, the PDF of a document), in order."""
    chosen = []
    for path in paths:
        posix = PurePosixPath(str(path))
        if posix.parent.name != "figures" or posix.suffix not in {".png", ".pdf"}:
            continue
        if posix.suffix == formats(figure_kind(posix.stem)[0])[0]:
            chosen.append(str(path))
    return chosen


def _environment() -> jinja2.Environment:
    # Snakemake's report environment (trim and lstrip blocks), but strict: a misspelt name
    # fails here, and in the unit tests, instead of rendering empty.
    return jinja2.Environment(
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False
    )


def render_caption_file(
    path: str | Path, *, wildcards: Mapping[str, str], config: Mapping[str, Any]
) -> str:
    """A caption file rendered as Snakemake's report renders it (Jinja, before rst)."""
    context = SimpleNamespace(wildcards=SimpleNamespace(**wildcards), config=config)
    try:
        return (
            _environment()
            .from_string(Path(path).read_text(encoding="utf-8"))
            .render(snakemake=context)
        )
    except jinja2.TemplateError as error:
        raise ValueError(f"caption file {path}: {error}") from error


def split_alt_text(rst: str, *, source: str = "caption") -> tuple[str, str]:
    """Split rendered caption text into the caption and its alt text (one line), at the
    ``.. alt text:`` comment, which must come last."""
    lines = rst.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == ALT_TEXT_MARKER]
    if len(starts) != 1:
        raise ValueError(f"{source}: needs exactly one '{ALT_TEXT_MARKER}' block")
    body = lines[starts[0] + 1 :]
    unindented = [line for line in body if line.strip() and not line.startswith((" ", "\t"))]
    if unindented:
        raise ValueError(f"{source}: the alt text block must be indented and come last")
    alt_text = " ".join(line.strip() for line in body if line.strip())
    caption = "\n".join(lines[: starts[0]]).strip()
    if not alt_text:
        raise ValueError(f"{source}: the alt text is empty")
    if not caption:
        raise ValueError(f"{source}: the caption is empty")
    return caption, alt_text


_LINK = re.compile(r"`([^`<]+?)\s*<([^>]+)>`__?")
_LITERAL = re.compile(r"``(.+?)``")


def rst_to_markdown(text: str) -> str:
    """Convert the caption files' reStructuredText subset to Markdown: ``literal`` and
    `text <url>`_ links change, bold, italics, paragraphs and "- " lists read the same."""
    text = _LINK.sub(r"[\1](\2)", text)
    text = _LITERAL.sub(r"`\1`", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def figure_caption(
    figure: str | Path, *, config: Mapping[str, Any], caption_dir: str | Path = CAPTION_DIR
) -> FigureCaption:
    """The caption and alt text of one figure, from its kind's caption file."""
    stem = Path(figure).stem
    kind, wildcards = figure_kind(stem)
    path = Path(caption_dir) / f"{kind}.rst"
    if not path.is_file():
        raise ValueError(f"figure {stem!r}: no caption file {path}")
    caption, alt_text = split_alt_text(
        render_caption_file(path, wildcards=wildcards, config=config), source=str(path)
    )
    return FigureCaption(
        stem=stem,
        kind=kind,
        wildcards=wildcards,
        caption=rst_to_markdown(caption),
        alt_text=rst_to_markdown(alt_text),
    )


def captions_markdown(
    figures: Iterable[str | Path],
    *,
    config: Mapping[str, Any],
    version: str,
    caption_dir: str | Path = CAPTION_DIR,
) -> str:
    """``figures/captions.md`` of a results version: for each figure (given by its first file,
    in order, each once) its stem, formats, area and period, caption and alt text. Deterministic:
    the same figures and config give the same bytes."""
    stems: dict[str, str | Path] = {}
    for figure in figures:
        first = formats(figure_kind(Path(figure).stem)[0])[0]
        if Path(figure).suffix != first:
            raise ValueError(f"figure {figure}: expected its {first[1:].upper()} file")
        stems.setdefault(Path(figure).stem, figure)
    if not stems:
        raise ValueError("captions: no figures given")
    parts = [
        "# Figure captions and alt text",
        "",
        f"Results version `{version}`. Every figure below is in this folder as PNG (300 dpi), "
        "SVG and PDF; documents (the fact sheet) as PDF. Captions say what each figure "
        "shows, its units and its data; the alt text describes it for screen readers. The "
        "same captions are in the Snakemake report (README, *Report*). Columns of the "
        "tables: `docs/outputs.md`; methods: `docs/methods.md`.",
    ]
    for figure in stems.values():
        entry = figure_caption(figure, config=config, caption_dir=caption_dir)
        files = ", ".join(f"`{name}`" for name in entry.files)
        parts += [
            "",
            f"## {entry.stem}",
            "",
            f"- Files: {files}",
            f"- Area and period: "
            f"{figure_subcategory(SimpleNamespace(**entry.wildcards), kind=entry.kind)}",
            "",
            "**Caption.**",
            "",
            entry.caption,
            "",
            f"**Alt text.** {entry.alt_text}",
        ]
    return "\n".join(parts) + "\n"


def write_captions(
    figures: Iterable[str | Path],
    path: str | Path,
    *,
    config: Mapping[str, Any],
    version: str,
    caption_dir: str | Path = CAPTION_DIR,
) -> None:
    """Write :func:`captions_markdown` to ``path`` (via a temporary file)."""
    text = captions_markdown(figures, config=config, version=version, caption_dir=caption_dir)
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)
