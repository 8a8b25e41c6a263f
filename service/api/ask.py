"""POST /v1/ask, and /v1/search in its POST (API) and GET (portal search box) forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from index.types import Script
from service.api import queries
from service.api.deps import AccessDep, BackendDep, SettingsDep
from service.errors import translate_validation
from service.schemas import (
    MAX_QUESTION,
    MAX_TOP_K,
    AskRequest,
    AskResponse,
    FilterSpec,
    SafeText,
    SearchRequest,
    SearchResponse,
)
from service.text_rules import QUESTION_PATTERN

router = APIRouter(tags=["ask"])


# Plain `def` routes: FastAPI runs them in its threadpool, so a slow search never blocks
# the event loop, and concurrent requests share the read-only retriever.
@router.post("/ask")
def ask(body: AskRequest, backend: BackendDep, settings: SettingsDep,
        access: AccessDep) -> AskResponse:
    """Answer a question from the documents, with citations that point at exact spans."""
    history = [queries.check_question(turn, settings, f"history[{i}]")
               for i, turn in enumerate(body.history)]
    return queries.ask(backend, settings, body, access, history)


@router.post("/search")
def search(body: SearchRequest, backend: BackendDep, settings: SettingsDep,
           access: AccessDep) -> SearchResponse:
    """The passages ranked for a query, best first."""
    return queries.search(backend, settings, body, access)


@router.get("/search")
def search_get(
        backend: BackendDep, settings: SettingsDep, access: AccessDep,
        q: Annotated[str, Query(description="the query", json_schema_extra={
            "pattern": QUESTION_PATTERN, "minLength": 1, MAX_QUESTION: True})],
        k: Annotated[int, Query(ge=1, description="passages to return",
                                json_schema_extra={MAX_TOP_K: True})] = 10,
        doc_id: Annotated[list[SafeText] | None, Query(description="repeatable")] = None,
        company: Annotated[list[SafeText] | None, Query(description="repeatable")] = None,
        year: Annotated[list[int] | None, Query(description="repeatable")] = None,
        script: Annotated[list[Script] | None, Query(description="repeatable")] = None,
        doc_type: Annotated[list[SafeText] | None, Query(description="repeatable")] = None,
) -> SearchResponse:
    """The same search for a portal search box: `GET /v1/search?q=...&k=5`."""
    queries.check_top_k(k, settings, name="k")  # named as the caller spelled it
    try:
        filters = FilterSpec(doc_ids=doc_id or [], companies=company or [], years=year or [],
                             scripts=script or [], doc_types=doc_type or [])
    except ValidationError as exc:
        raise translate_validation(exc.errors()) from None
    return queries.search(backend, settings, SearchRequest(query=q, top_k=k, filters=filters),
                          access)
