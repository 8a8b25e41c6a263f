"""The labelled location set (eval/locations.jsonl): does a citation of a passage name the
section path and page the document itself shows for it? See eval/LOCATIONS.md.

    HF_HUB_OFFLINE=1 .venv/bin/python -m eval.locations [--data-dir data] [--misses]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.script import converter
from index.store import ChunkStore

DEFAULT_LOCATIONS = Path(__file__).with_name("locations.jsonl")


@dataclass(frozen=True)
class Location:
    id: str
    doc_id: str
    text: str
    section: tuple[str, ...]
    page: int | None
    toc_page: int | None


@dataclass(frozen=True)
class Placed:
    """Where the index puts a passage: its section path and page (exact, or from the
    contents)."""

    section: tuple[str, ...]
    page: int | None
    toc_page: int | None


def load_locations(path: Path = DEFAULT_LOCATIONS) -> list[Location]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Location(d["id"], d["doc_id"], d["text"], tuple(d["section"]),
                                d.get("page"), d.get("toc_page")))
    return out


def title_key(title: str) -> str:
    """A section title as compared: Simplified, without spaces, markup or numbering."""
    title = re.sub(r"<[^>]{1,40}>|\*\*|^#+", "", title)
    title = re.sub(r"^[\d.]+\s*|\s+", "", title)
    return converter("t2s").convert(title).lower()


def score_locations(locations: Sequence[Location],
                    place: Callable[[Location], Placed | None]) -> dict[str, object]:
    """Section accuracy (exact path, top-level) and page accuracy, overall and per
    document; `place` finds where the index puts a labelled passage."""
    rows: list[tuple[Location, bool, bool, bool | None, bool | None, str]] = []
    for loc in locations:
        placed = place(loc)
        if placed is None:
            rows.append((loc, False, False, None, None, "not found"))
            continue
        want, got = [title_key(t) for t in loc.section], [title_key(t) for t in placed.section]
        exact = want == got
        top = (want[:1] == got[:1])
        page = None if loc.page is None else placed.page == loc.page
        toc = None if loc.toc_page is None else placed.toc_page == loc.toc_page
        rows.append((loc, exact, top, page, toc, " > ".join(placed.section)))
    summary: dict[str, object] = {}
    for doc in ["all", *sorted({r[0].doc_id for r in rows})]:
        mine = [r for r in rows if doc == "all" or r[0].doc_id == doc]
        pages = [r[3] for r in mine if r[3] is not None]
        tocs = [r[4] for r in mine if r[4] is not None]
        summary[doc] = {
            "n": len(mine),
            "section_exact": sum(r[1] for r in mine) / len(mine),
            "section_top": sum(r[2] for r in mine) / len(mine),
            "pages": len(pages),
            "page": sum(pages) / len(pages) if pages else None,
            "toc_pages": len(tocs),
            "toc_page": sum(tocs) / len(tocs) if tocs else None,
        }
    summary["misses"] = [
        {"id": r[0].id, "want": " > ".join(r[0].section), "got": r[5],
         "page": [r[0].page, r[3]], "toc_page": [r[0].toc_page, r[4]]}
        for r in rows if not r[1] or r[3] is False or r[4] is False]
    return summary


def placer(store: ChunkStore) -> Callable[[Location], Placed | None]:
    """Where the index puts a labelled passage: the section path and pages of the unit
    (sentence, row) it stands in, as a citation of it would show them. A unit that runs
    over a page break is on both pages; the labelled page counts when it is either."""
    def place(loc: Location) -> Placed | None:
        document = store.documents.get(loc.doc_id)
        at = document.text.find(loc.text) if document else -1
        chunk = next((c for c in store.chunks if c.doc_id == loc.doc_id
                      and c.char_start <= at < c.char_end), None)
        if chunk is None or not chunk.units:
            return None
        unit = next((u for u in chunk.units if u.start <= at < u.end),
                    min(chunk.units, key=lambda u: abs(u.start - at)))
        page = unit.page
        if page is not None and loc.page is not None and page <= loc.page <= (
                unit.page_end or page):
            page = loc.page
        return Placed(unit.section or chunk.section, page, unit.section_page)
    return place


def main() -> None:
    import argparse

    from index.store import current_index

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    folder = current_index(args.data_dir)
    if folder is None:
        raise SystemExit(f"no index in {args.data_dir}: run `wenda index` first")
    summary = score_locations(load_locations(), placer(ChunkStore(folder / "chunks.sqlite")))
    print("document: n, section exact, section top-level, page (n), contents page (n)")
    for doc, row in summary.items():
        if doc == "misses" or not isinstance(row, dict):
            continue
        def fmt(value: object) -> str:
            return "-" if value is None else f"{value:.3f}"
        print(f"  {doc}: {row['n']}, {fmt(row['section_exact'])}, {fmt(row['section_top'])}, "
              f"{fmt(row['page'])} ({row['pages']}), {fmt(row['toc_page'])} ({row['toc_pages']})")
    if args.misses:
        misses = summary["misses"]
        assert isinstance(misses, list)
        for miss in misses:
            print(" ", miss)


if __name__ == "__main__":
    main()
