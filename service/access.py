"""Who may see what: the caller's access groups, request filters, and the one allowed-set.

Every response is built from documents that `Filters.admits`: the retriever masks its
rankings with it before scoring, and the document listing, spans, parallel-edition links,
`/readyz` counts and evaluation jobs use `visible()`. Nothing else decides access, so a
document the caller may not read is, in every response, a document that does not exist.
With the Milvus backend the same rule is also written as the engine's filter expression
(`expression`, next to `admits` so the two change together), which the engine applies
inside its search; the tests check both admit the same documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from index.normalise import matching_form
from index.types import Document, DocumentMeta


@dataclass(frozen=True)
class Access:
    """What one caller may read: documents of these groups and public ones; None: all."""

    groups: frozenset[str] | None = None
    # may add, replace and remove documents (of its groups; all, with every group)
    write: bool = False

    def filters(self) -> Filters:
        """No metadata filter, only this caller's access."""
        return Filters(groups=self.groups)


OPEN = Access(write=True)  # no keys configured: a loopback service, its user owns it


@dataclass(frozen=True)
class Filters:
    """Metadata every hit must match, and the caller's access; empty fields do not filter."""

    doc_ids: frozenset[str] = frozenset()
    companies: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()  # the manifest's year (of publication)
    scripts: frozenset[str] = frozenset()
    doc_types: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None  # caller's access groups; None: unrestricted
    fiscal_years: frozenset[int] = frozenset()  # the year reported on (DocumentMeta.period)

    def active(self) -> bool:
        return bool(self.doc_ids or self.companies or self.years or self.scripts
                    or self.doc_types or self.fiscal_years or self.groups is not None)

    def admits(self, meta: DocumentMeta) -> bool:
        """Whether a document may contribute anything to a response under these filters."""
        return (readable(meta, self.groups)
                and (not self.doc_ids or meta.doc_id in self.doc_ids)
                and (not self.companies or _names_company(meta, self.companies))
                and (not self.years or meta.year in self.years)
                and (not self.fiscal_years or meta.period in self.fiscal_years)
                and (not self.scripts or meta.script in self.scripts)
                and (not self.doc_types or meta.doc_type in self.doc_types))


def _names_company(meta: DocumentMeta, wanted: frozenset[str]) -> bool:
    """Whether any of `wanted` is the document's company or one of its aliases, in any
    script or case ("SenseTime", 「商汤」, "SenseTime Group Inc.")."""
    names = {matching_form(n) for n in (meta.company, *meta.aliases) if n}
    return any(matching_form(w) in names for w in wanted)


def readable(meta: DocumentMeta, groups: frozenset[str] | None) -> bool:
    """Public documents (no groups) and those sharing one of `groups`; all when None."""
    return groups is None or not meta.groups or bool(groups & set(meta.groups))


def visible(documents: Mapping[str, Document], filters: Filters) -> dict[str, Document]:
    """The documents `filters` admit, by id: the allowed-set a response is built from."""
    return {doc_id: doc for doc_id, doc in documents.items() if filters.admits(doc.meta)}


def expression(filters: Filters) -> str:
    """`Filters.admits` in Milvus's filter language, over the per-passage fields that
    index/milvus.py writes (`document_fields`); "" when nothing filters."""
    parts = []
    if filters.groups is not None:
        public = "array_length(groups) == 0"
        parts.append(f"({public} or array_contains_any(groups, {_strings(filters.groups)}))"
                     if filters.groups else public)
    if filters.doc_ids:
        parts.append(f"doc_id in {_strings(filters.doc_ids)}")
    if filters.companies:
        names = _strings(matching_form(w) for w in filters.companies)
        parts.append(f"array_contains_any(names, {names})")
    if filters.years:
        parts.append(f"year in {sorted(filters.years)}")
    if filters.fiscal_years:
        parts.append(f"period in {sorted(filters.fiscal_years)}")
    if filters.scripts:
        parts.append(f"script in {_strings(filters.scripts)}")
    if filters.doc_types:
        parts.append(f"doc_type in {_strings(filters.doc_types)}")
    return " and ".join(parts)


def _strings(values: Iterable[str]) -> str:
    """A list literal of strings, quoted and escaped as JSON (what Milvus's parser reads)."""
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in sorted(set(values))) + "]"
