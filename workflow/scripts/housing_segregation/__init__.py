"""Residential segregation measurement for housing-integration research.

Pure functions over tidy tables; the Snakemake scripts in ``workflow/scripts`` are thin
wrappers around this package.
"""

__version__ = "0.1.0"
