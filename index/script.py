"""Telling Traditional Chinese, Simplified Chinese and English apart from the text itself."""

from __future__ import annotations

from functools import lru_cache

from opencc import OpenCC

from index.types import Script


@lru_cache(maxsize=4)
def converter(config: str) -> OpenCC:
    """One shared OpenCC converter per configuration (they are costly to build)."""
    return OpenCC(config)


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def detect_script(text: str, default: Script = "zh-Hant") -> Script:
    """The dominant script of `text`.

    English when Latin letters outnumber Han characters by 2:1 (an English word has ~5
    letters, a Chinese word ~1.7 characters). Otherwise the Han characters decide:
    those that OpenCC would change going one way betray the other script.
    """
    han = [ch for ch in text if is_cjk(ch)]
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if not han:
        return "en" if latin else default
    if latin > 2 * len(han):
        return "en"
    sample = "".join(han[:20000])
    traditional_only = _changed(sample, converter("t2s").convert(sample))
    simplified_only = _changed(sample, converter("s2t").convert(sample))
    if traditional_only == simplified_only:
        return default
    return "zh-Hant" if traditional_only > simplified_only else "zh-Hans"


def _changed(before: str, after: str) -> int:
    if len(before) != len(after):
        return abs(len(before) - len(after)) + 1
    return sum(1 for a, b in zip(before, after, strict=True) if a != b)
