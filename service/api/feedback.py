"""POST /v1/feedback: a reader's thumbs up or down on an answer, stored for review."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import Field

from service.access import visible
from service.api.deps import AccessDep, BackendDep, SettingsDep
from service.api.queries import check_question
from service.errors import InvalidRequestError, UnknownDocumentError
from service.feedback import FeedbackStore, Quote
from service.schemas import QuestionText, _Strict

router = APIRouter(tags=["feedback"])


class CitedSpan(_Strict):
    doc_id: Annotated[str, Field(max_length=128)]
    char_start: Annotated[int, Field(ge=0)]
    char_end: Annotated[int, Field(ge=1)]


class FeedbackRequest(_Strict):
    rating: Literal["up", "down"]
    question: QuestionText
    history: list[QuestionText] = Field([], max_length=8)
    answer: Annotated[str, Field(max_length=4000)] = ""
    citations: list[CitedSpan] = Field([], max_length=10, description="the spans the answer "
                                       "cited (their text is stored with the rating)")
    comment: Annotated[str, Field(max_length=2000)] = ""


class FeedbackResponse(_Strict):
    feedback_id: int


@router.post("/feedback", status_code=201)
def add_feedback(body: FeedbackRequest, backend: BackendDep, settings: SettingsDep,
                 access: AccessDep) -> FeedbackResponse:
    """Store a rating of an answer with its question and the text it cited."""
    question = check_question(body.question, settings)
    history = [check_question(t, settings, f"history[{i}]") for i, t in enumerate(body.history)]
    readable = visible(backend.documents, access.filters())
    quotes = []
    for i, span in enumerate(body.citations):
        doc = readable.get(span.doc_id)
        if doc is None:  # a document the caller may not read is one that does not exist
            raise UnknownDocumentError(f"citations[{i}]: no document {span.doc_id!r}")
        if not span.char_start < span.char_end <= len(doc.text) or \
                span.char_end - span.char_start > settings.max_span_chars:
            raise InvalidRequestError(f"citations[{i}]: not a span of {span.doc_id!r}")
        quotes.append(Quote(span.doc_id, doc.text[span.char_start:span.char_end]))
    store = FeedbackStore(settings.data_dir)
    return FeedbackResponse(feedback_id=store.add(body.rating, question, history, body.answer,
                                                  quotes, body.comment.strip()))
