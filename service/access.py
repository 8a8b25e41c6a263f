"""Who may see what: the caller's access groups, request filters, and the one allowed-set.

Every response is built from documents that `Filters.admits`: the retriever masks its
rankings with it before scoring, and the document listing, spans, parallel-edition links,
`/readyz` counts and evaluation jobs use `visible()`. Nothing else decides access, so a
document the caller may not read is, in every response, a document that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
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
