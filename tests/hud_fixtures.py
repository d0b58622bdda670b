"""The synthetic HUD fixtures (tests/fixtures/hud/, see its README) in the formats HUD
publishes: CSV rows as an .xlsx workbook, and files packed in a zip."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hud"


def workbook_bytes(csv_path: Path) -> bytes:
    """The CSV as an .xlsx whose numbers are numeric cells, as in HUD's workbooks: a tract code
    such as 09110400101 becomes the number 9110400101 and loses its leading zero."""
    book = Workbook()
    sheet = book.active
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle)):
            sheet.append(row if number == 0 else [_cell(text) for text in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(text: str) -> object:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text if text else None


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
