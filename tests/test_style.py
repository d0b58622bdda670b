"""Tests for housing_segregation.style: figures saved in three formats, byte for byte."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from housing_segregation import style


def figure() -> plt.Figure:
    with plt.rc_context(style.RC):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [1, 0, 2], label="synthetic")
        ax.legend()
    return fig


def test_each_format_is_written_identically_twice(tmp_path):
    names = ("chart.png", "chart.svg", "chart.pdf")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    style.save_figure(figure(), [first / name for name in names])
    style.save_figure(figure(), [second / name for name in names])
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (first / "chart.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (first / "chart.svg").read_text()
    assert "<svg" in svg and "dc:date" not in svg
    pdf = (first / "chart.pdf").read_bytes()
    assert b"CreationDate" not in pdf


def test_a_single_path_and_unknown_formats(tmp_path):
    style.save_figure(figure(), tmp_path / "one.png")
    assert (tmp_path / "one.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"one\.jpg: figures are written as"):
        style.save_figure(figure(), [tmp_path / "one.jpg"])
