"""Text of the office files people have: Word (.docx), Excel (.xlsx) and CSV tables.

Each becomes plain text the rest of the pipeline already reads, and is cited against (as
HTML is): paragraphs one per line with a blank line between, Word headings as Markdown `#`
(their level from the style), and every table row, of a Word table, a sheet or a CSV file,
as one line of tab-separated cells, which chunking reads as a table row under the header
row above it. A sheet opens with its name as a heading.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

_HEADING_STYLE = re.compile(r"^(?:heading|標題|标题)\s*(\d)", re.I)


class OfficeError(ValueError):
    """The file is not a readable document of its kind (the reason without the name)."""


def docx_text(data: bytes) -> str:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise OfficeError(f"not a readable Word (.docx) file ({type(exc).__name__})") from exc
    blocks: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = " ".join(block.text.split())
            if not text:
                continue
            level = _HEADING_STYLE.match(block.style.name if block.style is not None else "")
            blocks.append(f"{'#' * int(level.group(1))} {text}" if level else text)
        elif isinstance(block, Table):
            rows = _rows([cell.text for cell in _unique(row.cells)] for row in block.rows)
            if rows:
                blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _unique(cells: Iterable[Any]) -> Iterator[Any]:
    """A merged cell is listed once per grid column it spans; its text counts once."""
    seen: set[int] = set()
    for cell in cells:
        if id(cell._tc) not in seen:  # noqa: SLF001 (python-docx exposes no other identity)
            seen.add(id(cell._tc))  # noqa: SLF001
            yield cell


def xlsx_text(data: bytes) -> str:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise OfficeError(f"not a readable Excel (.xlsx) file ({type(exc).__name__})") from exc
    blocks = []
    try:
        for sheet in workbook.worksheets:
            rows = _rows([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
            if rows:
                blocks.append(f"# {sheet.title}\n\n" + "\n".join(rows))
    finally:
        workbook.close()
    return "\n\n".join(blocks) + "\n" if blocks else ""


def csv_text(text: str) -> str:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = _rows(csv.reader(io.StringIO(text), dialect))
    return "\n".join(rows) + "\n" if rows else ""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(rows: Iterable[Iterable[str]]) -> list[str]:
    """Table rows as tab-separated lines: cells' whitespace folded (a tab or line break in a
    cell would split it), trailing empty cells and empty rows dropped."""
    out = []
    for row in rows:
        cells = [" ".join(str(c).split()) for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            out.append("\t".join(cells))
    return out
