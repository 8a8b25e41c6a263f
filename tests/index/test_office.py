"""Word, Excel and CSV files read as text with their tables as rows, and refused clearly
when they are not what their name says."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document as WordDocument
from openpyxl import Workbook

from index.chunk import ChunkSettings, chunk_document
from index.load import LoadError, load_bytes
from index.types import DocumentMeta

META = DocumentMeta(doc_id="acme", title="Acme")
UPLOADS = Path(__file__).resolve().parents[1] / "data" / "uploads"


def word_file(path: Path) -> Path:
    document = WordDocument()
    document.add_heading("Acme Robotics ESG Report 2024", level=1)
    document.add_heading("Environment", level=2)
    document.add_paragraph("Acme Robotics used 8,420 MWh of electricity in 2024.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["Indicator", "2024", "2023"],
                             ["Water withdrawal (tonnes)", "51,300", "55,020"],
                             ["Waste recycled (%)", "64.5", "58.1"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("The board approved the climate policy on 12 March 2024.")
    document.save(path)
    return path


def excel_file(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Headcount"
    for row in (["Region", "2024", "2023"], ["Suzhou", 812, 700], ["Total", 1204, 1011.0]):
        sheet.append(row)
    workbook.create_sheet("Revenue").append(["Robot arms", 402.5])
    workbook.save(path)
    return path


def test_a_word_file_keeps_its_headings_paragraphs_and_table_rows(tmp_path: Path) -> None:
    document = load_bytes(word_file(tmp_path / "r.docx").read_bytes(), "r.docx", META)
    assert document.text.splitlines()[:5] == [
        "# Acme Robotics ESG Report 2024", "", "## Environment", "",
        "Acme Robotics used 8,420 MWh of electricity in 2024."]
    assert "Water withdrawal (tonnes)\t51,300\t55,020" in document.text
    rows = [u for c in chunk_document(document, ChunkSettings()) for u in c.units
            if u.kind == "row"]
    water = next(u.row for u in rows if u.row and u.row.label.startswith("Water"))
    assert [(c.text, c.year) for c in water.cells] == [("51,300", 2024), ("55,020", 2023)]


def test_each_sheet_of_a_workbook_is_a_table_under_its_name(tmp_path: Path) -> None:
    document = load_bytes(excel_file(tmp_path / "k.xlsx").read_bytes(), "k.xlsx", META)
    assert document.text == ("# Headcount\n\nRegion\t2024\t2023\nSuzhou\t812\t700\n"
                             "Total\t1204\t1011\n\n# Revenue\n\nRobot arms\t402.5\n")


def test_a_csv_file_is_one_table_whatever_its_delimiter() -> None:
    document = load_bytes((UPLOADS / "acme-suppliers-2024.csv").read_bytes(), "s.csv", META)
    assert document.text.splitlines()[1] == "MotorCo\tChina\t55.2"
    semicolons = load_bytes(b"a;b\n1;2\n", "s.csv", META)
    assert semicolons.text == "a\tb\n1\t2\n"


@pytest.mark.parametrize("name", ["fake.docx", "fake.xlsx"])
def test_a_file_that_is_not_what_its_name_says_is_refused(name: str) -> None:
    with pytest.raises(LoadError, match=rf"^{name}: not a readable (Word|Excel)"):
        load_bytes(b"plain text, not a zip archive", name, META)
