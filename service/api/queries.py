"""Asking and searching with validated input: one code path for the routes and the CLI."""

from __future__ import annotations

from collections.abc import Mapping

from index.types import Document
from service.access import OPEN, Access, Filters, visible
from service.api.backend import Backend
from service.config import Settings
from service.errors import (
    EmptyQuestionError,
    InvalidRequestError,
    QuestionTooLongError,
    UnknownDocumentError,
)
from service.schemas import (
    AskRequest,
    AskResponse,
    FilterSpec,
    SearchRequest,
    SearchResponse,
    ask_response,
    passage_info,
)
from service.text_rules import forbidden_character, has_visible

HISTORY_TURNS = 4  # earlier user turns passed on as context; older ones are dropped


def check_question(text: str, settings: Settings, name: str = "question") -> str:
    """The question without surrounding space; 422 when it holds a control character or
    an unpaired surrogate, shows nothing (spaces, zero-width marks), or is too long. The
    same rules as the schema's QUESTION_PATTERN and maxLength."""
    bad = forbidden_character(text)
    if bad is not None:
        raise InvalidRequestError(
            f"{name}: contains {bad}, a control character or an unpaired surrogate")
    if not has_visible(text):
        raise EmptyQuestionError(f"{name} is empty: ask something, e.g. 商湯2023年的收入是多少？")
    if len(text) > settings.max_question_chars:
        raise QuestionTooLongError(
            f"{name} has {len(text):,} characters; the limit is "
            f"{settings.max_question_chars:,} (WENDA_MAX_QUESTION_CHARS)")
    return text.strip()


def check_top_k(top_k: int, settings: Settings, name: str = "top_k") -> int:
    if not 1 <= top_k <= settings.max_top_k:
        raise InvalidRequestError(
            f"{name}: must be between 1 and {settings.max_top_k}, got {top_k}")
    return top_k


def to_filters(spec: FilterSpec | None, access: Access,
               documents: Mapping[str, Document]) -> Filters:
    """Retrieval filters for a request, narrowed to what the caller may read."""
    spec = spec or FilterSpec()
    readable = visible(documents, access.filters())
    unknown = [d for d in spec.doc_ids if d not in readable]
    if unknown:
        raise UnknownDocumentError(f"filters.doc_ids: no document {', '.join(map(repr, unknown))}"
                                   " (see GET /v1/documents)")
    return Filters(doc_ids=frozenset(spec.doc_ids), companies=frozenset(spec.companies),
                   years=frozenset(spec.years), scripts=frozenset(spec.scripts),
                   doc_types=frozenset(spec.doc_types), groups=access.groups,
                   fiscal_years=frozenset(spec.fiscal_years))


def ask(backend: Backend, settings: Settings, request: AskRequest, access: Access = OPEN,
        history: list[str] | None = None) -> AskResponse:
    """Answer `request` with citations; the body of POST /v1/ask."""
    question = check_question(request.question, settings)
    top_k = check_top_k(request.top_k, settings)
    documents = backend.documents
    filters = to_filters(request.filters, access, documents)
    context = [turn.strip()[: settings.max_question_chars] for turn in history or []
               if turn.strip()][-HISTORY_TURNS:]
    answer = backend.answer(question, top_k, filters, request.reply_script, context)
    return ask_response(answer, documents)


def search(backend: Backend, settings: Settings, request: SearchRequest,
           access: Access = OPEN) -> SearchResponse:
    """The passages ranked for a query; the body of /v1/search."""
    query = check_question(request.query, settings, name="query")
    top_k = check_top_k(request.top_k, settings)
    documents = backend.documents
    hits = backend.search(query, top_k, to_filters(request.filters, access, documents),
                          request.method)
    return SearchResponse(hits=[passage_info(h, documents) for h in hits])
