"""Logging for Snakemake scripts: everything, uncaught errors included, goes to the rule's log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def log_to(path: str | Path) -> logging.Logger:
    """Send this process's log records, and any uncaught exception, to ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=path,
        filemode="w",
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    previous_hook = sys.excepthook

    def log_uncaught(kind, error, traceback):
        logging.getLogger("uncaught").error("%s", error, exc_info=(kind, error, traceback))
        previous_hook(kind, error, traceback)

    sys.excepthook = log_uncaught
    return logging.getLogger("housing_segregation")
