"""Tests for housing_segregation.figures' map labelling."""

import matplotlib.pyplot as plt
from shapely.geometry import Point

from housing_segregation.figures import CENTRED_OFFSETS, annotate_clear


def labelled(offsets, count: int) -> list[tuple[float, float]]:
    """SYNTHETIC: ``count`` labels of the same text at the same point of an empty map;
    returns the offset (points) each was placed at, and checks what the boxes cover."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    for _ in range(count):
        annotate_clear(ax, "Waterbury", Point(0.5, 0.5), offsets, fontsize=7)
    placed = [tuple(text.xyann) for text in ax.texts]
    plt.close(fig)
    return placed


def test_a_label_moves_off_the_labels_already_there():
    # On the point, then above, then below: the next free place in CENTRED_OFFSETS.
    assert labelled(CENTRED_OFFSETS, 3) == [(0, 0), (0, 9), (0, -9)]


def test_a_label_with_nowhere_clear_goes_to_its_first_place():
    assert labelled([(0, 0), (1, 0)], 2) == [(0, 0), (0, 0)]
