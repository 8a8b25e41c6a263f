"""A loose file's company and year, read from its cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.cover import described, read_cover
from index.types import DocumentMeta

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.mark.parametrize(("text", "company", "year"), [
    ("Acme Robotics Annual Report 2024\n\nRevenue\n", "Acme Robotics", 2024),
    ("北京智譜華章科技股份有限公司\n2025 | 年度 環境、社會及管治報告\n",
     "北京智譜華章科技股份有限公司", 2025),
    ("SenseTime Group Inc.\n商湯集團股份有限公司\nSustainability Report 2023\n",
     "SenseTime Group Inc.", 2023),
    ("Minutes of a meeting\n\nWe met.\n", "", None),
])
def test_the_cover_names_the_company_and_the_year(text: str, company: str,
                                                   year: int | None) -> None:
    cover = read_cover(text)
    assert (cover.company, cover.year) == (company, year)


def test_the_exchange_s_disclaimer_is_not_the_issuer() -> None:
    # every HKEX announcement opens with the exchange's disclaimer, then the issuer
    cover = read_cover((CORPUS / "002_bbffb2fef796343d.txt").read_text(encoding="utf-8"))
    assert cover.company == "SenseTime Group Inc." and cover.year == 2023


def test_what_the_manifest_or_the_upload_says_is_kept() -> None:
    meta = DocumentMeta(doc_id="a", title="a", company="Acme", year=2020)
    assert described(meta, "Other Co. Limited Annual Report 2024\n") == meta
    loose = described(DocumentMeta(doc_id="a", title="a"), "Acme Robotics Annual Report 2024\n")
    assert (loose.company, loose.aliases, loose.year) == ("Acme Robotics", ("Acme Robotics",),
                                                          2024)
