"""What a document's cover says about it, for files no manifest describes: its title, the
company it is about and the year it reports on, read from its first lines ("Acme Robotics
Annual Report 2024", 「北京智譜華章科技股份有限公司 2025年度環境、社會及管治報告」)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.types import YEAR, DocumentMeta

COVER_LINES = 12  # non-empty lines read as the cover
_COMPANY = re.compile(
    r"([\u4e00-\u9fff]{2,24}(?:股份有限公司|有限公司|集團|集团|控股))"
    r"|((?:[A-Z][\w&.'-]*\s){0,5}[A-Z][\w&.'-]*,?\s(?:Inc\.|Ltd\.|Limited|Co\.,\sLtd\.|"
    r"Corporation|Corp\.|Holdings|Group|PLC|plc))")
# The exchange's disclaimer opens every HKEX announcement: its companies are not the issuer.
_EXCHANGE = re.compile(r"香港交易及結算所|香港交易及结算所|香港聯合交易所|香港联合交易所|"
                       r"香港中央結算|香港中央结算|Hong Kong Exchanges|"
                       r"Stock Exchange of Hong Kong", re.I)
# The kind of report a title names: what stands before it is the company.
_REPORT = re.compile(r"\s*(?:\d{4}\s*)?(?:annual report|annual results|interim report|"
                     r"esg report|sustainability report|environmental, social and governance|"
                     r"prospectus|年度報告|年度报告|年報|年报|業績公告|业绩公告|可持續發展報告|"
                     r"可持续发展报告|環境、社會及管治報告|环境、社会及管治报告|招股章程)", re.I)


@dataclass(frozen=True)
class Cover:
    title: str
    company: str
    year: int | None


def read_cover(text: str) -> Cover:
    lines = [" ".join(line.split()).lstrip("#").strip() for line in text.splitlines()]
    lines = [line for line in lines if line][:COVER_LINES]
    title = next((line for line in lines if 4 <= len(line) <= 120), "")
    years = [int(y) for line in lines for y in YEAR.findall(line)]
    company = ""
    for line in lines:
        found = None if _EXCHANGE.search(line) else _COMPANY.search(line)
        if found:
            company = (found.group(1) or found.group(2)).strip(" ,")
            break
    if not company and title:  # "Acme Robotics Annual Report 2024": what precedes the kind
        kind = _REPORT.search(title)
        if kind and kind.start() > 1:
            company = YEAR.sub("", title[:kind.start()]).strip(" -–—,:：")
    return Cover(title=title, company=company, year=max(years) if years else None)


def described(meta: DocumentMeta, text: str) -> DocumentMeta:
    """`meta` with the company (also as an alias) and year its cover gives, where it names
    none itself (a loose file, an upload without fields); what it names is kept."""
    if meta.company and meta.year is not None:
        return meta
    cover = read_cover(text)
    company = meta.company or cover.company
    aliases = meta.aliases or ((company,) if company else ())
    return replace(meta, company=company, aliases=aliases,
                   year=meta.year if meta.year is not None else cover.year)
