"""GET /v1/documents: the documents a caller may read, and exact spans for previews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from index.types import Document
from service.access import visible
from service.api.deps import AccessDep, BackendDep, SettingsDep
from service.errors import InvalidRequestError, UnknownDocumentError
from service.schemas import (
    DocumentListResponse,
    DocumentResponse,
    SpanInfo,
    document_info,
)

router = APIRouter(tags=["documents"])


@router.get("/documents")
async def list_documents(backend: BackendDep, access: AccessDep) -> DocumentListResponse:
    """Every document the caller may read, with its metadata."""
    readable = visible(backend.documents, access.filters())
    return DocumentListResponse(
        documents=[document_info(readable[d], readable) for d in sorted(readable)])


@router.get("/documents/{doc_id}")
async def get_document(
        doc_id: str, backend: BackendDep, access: AccessDep, settings: SettingsDep,
        start: Annotated[int | None, Query(
            ge=0, description="span start (characters); give `start` and `end` together")] = None,
        end: Annotated[int | None, Query(
            ge=1, description="span end, exclusive; give `start` and `end` together")] = None,
) -> DocumentResponse:
    """A document's metadata and, with `start` and `end`, its original text in that span."""
    readable = visible(backend.documents, access.filters())
    doc = readable.get(doc_id)
    # A document the caller may not read is reported as unknown: its existence is not shared.
    if doc is None:
        raise UnknownDocumentError(f"no document {doc_id!r} (see GET /v1/documents)")
    span = None
    if start is not None or end is not None:
        span = _span(doc, start, end, settings.max_span_chars)
    return DocumentResponse(**document_info(doc, readable).model_dump(), span=span)


def _span(doc: Document, start: int | None, end: int | None, limit: int) -> SpanInfo:
    size = len(doc.text)
    if start is None or end is None:
        raise InvalidRequestError("start and end: give both, or neither")
    if not 0 <= start < end <= size:
        raise InvalidRequestError(
            f"start and end: need 0 <= start < end <= {size} (the document's length), "
            f"got start={start}, end={end}")
    if end - start > limit:
        raise InvalidRequestError(
            f"start and end: a span is at most {limit:,} characters, got {end - start:,}")
    text = doc.text
    return SpanInfo(start=start, end=end, line_start=text.count("\n", 0, start) + 1,
                    line_end=text.count("\n", 0, end - 1) + 1, text=text[start:end])
