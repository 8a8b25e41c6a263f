"""The labelled location set (eval/locations.jsonl) and how well citations find the places
it names."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.locations import load_locations, placer, score_locations
from index.corpus import discover
from index.store import ChunkStore, current_index
from service.config import Settings


def test_every_labelled_passage_stands_once_in_its_document(corpus_dir) -> None:  # type: ignore[no-untyped-def]
    texts = {s.meta.doc_id: s.path.read_text(encoding="utf-8") for s in discover([corpus_dir])}
    locations = load_locations()
    assert len(locations) >= 80
    assert min(Counter(loc.doc_id for loc in locations).values()) >= 12
    for loc in locations:
        assert texts[loc.doc_id].count(loc.text) == 1, loc.id
        assert loc.section, loc.id
        assert loc.page is None or loc.page > 0


@pytest.mark.e2e
def test_citations_name_the_labelled_sections_and_pages(full_corpus_settings: Settings) -> None:
    folder = current_index(full_corpus_settings.data_dir)
    assert folder is not None
    summary = score_locations(load_locations(), placer(ChunkStore(folder / "chunks.sqlite")))
    overall = summary["all"]
    assert isinstance(overall, dict)
    # Measured 2026-12-01 (README "Citations", docs/sections.md §5): pages 1.000 where the
    # documents print them, contents pages 1.000, top-level section 0.808, exact path 0.596.
    assert overall["page"] == 1.0
    assert overall["toc_page"] >= 0.97
    assert overall["section_top"] >= 0.78
    assert overall["section_exact"] >= 0.56
