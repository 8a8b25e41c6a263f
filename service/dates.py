"""Dates as filings write them, in Chinese (「2021年12月30日」) and English ("30 December
2021", "December 30, 2021"), read to one key, and written for an English reader: one place,
so the parallel-edition match, the reply and the scorer agree on when two texts name the
same day."""

from __future__ import annotations

import re

from index.lexicon import MONTHS

_ZH_DATE = re.compile(r"((?:19|20)\d\d)\s?年\s?(\d{1,2})\s?月(?:\s?(\d{1,2})\s?日)?")
_ZH_YEAR = re.compile(r"((?:19|20)\d\d)\s?年度?")  # 「2019 年」: the year alone
_EN_DATE = re.compile(r"(?:(\d{1,2})\s)?([A-Za-z]{3,9})\.?(?:\s(\d{1,2}),?)?\s((?:19|20)\d\d)")
# month names and their three-letter forms ("Jan", "Sept"), numbered as the lexicon does
_MONTH_NUMBER = {key: int(month[:-1]) for name, month in MONTHS.items()
                 for key in (name, name[:3], "sept" if name == "september" else name)}
_MONTH_NAMES = {int(month[:-1]): name.capitalize() for name, month in MONTHS.items()}


def date_key(text: str) -> str:
    """The first date of a text as year-month-day (year-month when it names no day), or
    ""."""
    zh = _ZH_DATE.search(text)
    if zh:
        return _key(zh.group(1), zh.group(2), zh.group(3))
    return next((key for key in map(_english_key, _EN_DATE.finditer(text)) if key), "")


def with_date_keys(text: str) -> str:
    """`text` with every date written as its key, in either language."""
    text = _ZH_DATE.sub(lambda m: _key(m.group(1), m.group(2), m.group(3)), text)

    return _EN_DATE.sub(lambda m: _english_key(m) or m.group(0), text)


def in_english(text: str) -> str:
    """Chinese dates of a text as English writes them: 「2021年12月30日」 -> "30 December
    2021", 「2023年4月」 -> "April 2023", 「2019 年」 -> "2019"."""
    def write(m: re.Match[str]) -> str:
        name = _MONTH_NAMES.get(int(m.group(2)))
        if not name:
            return m.group(0)
        return f"{int(m.group(3))} {name} {m.group(1)}" if m.group(3) else f"{name} {m.group(1)}"

    return _ZH_YEAR.sub(r"\1", _ZH_DATE.sub(write, text))


def _english_key(m: re.Match[str]) -> str:
    """The key of an English date match, "" when its word is no month ("the 2023")."""
    month = _MONTH_NUMBER.get(m.group(2).lower())
    return _key(m.group(4), str(month), m.group(1) or m.group(3)) if month else ""


def _key(year: str, month: str, day: str | None) -> str:
    # a month without its day keys as the start of that month's days: 2023-04 is in 2023-04-10
    return f"{year}-{int(month):02d}-{int(day):02d}" if day else f"{year}-{int(month):02d}"
