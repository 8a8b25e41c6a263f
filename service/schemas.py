"""The HTTP API's request and response models, and their conversion from pipeline data."""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from index.display import display
from index.types import Document, Script
from service.answer import Answer, ReplyScript
from service.cite import Citation
from service.query import AnswerType
from service.retrieve import Hit, Method
from service.text_rules import QUESTION_PATTERN, SAFE_PATTERN, check_safe

# Limits that are settings: the app writes their values into its OpenAPI schema
# (service.app.declare_limits), so the schema says what this server enforces.
MAX_QUESTION = "x-wenda-max-question-chars"
MAX_TOP_K = "x-wenda-max-top-k"

# Any free text: no control characters, no unpaired surrogates.
SafeText = Annotated[str, AfterValidator(check_safe),
                     Field(json_schema_extra={"pattern": SAFE_PATTERN})]
# A question or query: also at least one visible character, and at most
# WENDA_MAX_QUESTION_CHARS (checked by service.api.queries.check_question).
QuestionText = Annotated[str, Field(json_schema_extra={
    "pattern": QUESTION_PATTERN, "minLength": 1, MAX_QUESTION: True})]


def _json_integer(value: object) -> object:
    """A JSON number, as JSON Schema's integer is (5 and 5.0, not 5.5); "5" and true are not."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("Input should be a valid integer, not a string or a boolean")
    return value


# Constraints before the validator, or pydantic leaves them out of the JSON schema.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
TopK = Annotated[int, Field(ge=1, json_schema_extra={MAX_TOP_K: True}),
                 BeforeValidator(_json_integer)]


class _Strict(BaseModel):
    # Our own request bodies reject unknown fields, so a typo ("topk") is an error, not a
    # no-op.
    model_config = ConfigDict(extra="forbid")


class FilterSpec(_Strict):
    """Metadata every passage must match; an omitted or empty list does not filter."""

    doc_ids: list[SafeText] = []
    companies: list[SafeText] = Field([], description="the company's name or any alias, "
                                      "in any script (SenseTime, 商湯)")
    years: list[JsonInt] = Field([], description="the year of publication (the manifest's)")
    fiscal_years: list[JsonInt] = Field([], description="the year reported on: the FY2023 "
                                        "results, published in 2024, are 2023's")
    scripts: list[Script] = []
    doc_types: list[SafeText] = []


class AskRequest(_Strict):
    question: QuestionText = Field(
        description="the question, in Chinese (either script) or English")
    top_k: TopK = Field(5, description="passages to retrieve (at most WENDA_MAX_TOP_K)")
    filters: FilterSpec | None = None
    reply_script: ReplyScript = Field(
        "auto", description="script of converted quotes: original, zh-Hant, zh-Hans or auto")
    history: list[QuestionText] = Field([], max_length=8, description="the earlier questions "
                                        "of the conversation, oldest first: the question is "
                                        "read as a follow-up to them (\"and in 2022?\")")


class SearchRequest(_Strict):
    query: QuestionText
    top_k: TopK = Field(10, description="passages to return (at most WENDA_MAX_TOP_K)")
    filters: FilterSpec | None = None
    method: Method = "hybrid"


class LocatedSpan(BaseModel):
    """Where a span of a document is: the fields citations and passages share."""

    doc_id: str
    title: str
    section: str
    page: int | None
    line_start: int
    line_end: int
    char_start: int
    char_end: int


class CitationInfo(LocatedSpan):
    """One quoted span: `quote` is exactly the document's text[char_start:char_end]."""

    n: int
    quote: str
    quote_converted: str | None = None
    chunk_id: str = ""
    display: str = Field("", description="the quote as people read it: wraps joined, markup "
                         "rendered (<sup>14</sup> as ¹⁴), in the document's script")
    display_converted: str | None = Field(None, description="`display` in the reply script")
    section_converted: str | None = Field(None, description="`section` in the reply script")
    title_display: str = Field("", description="the title in the reader's language")
    page_end: int | None = Field(None, description="the page the quote ends on, if another")
    section_page: int | None = Field(None, description="the page the document's contents "
                                     "give for the section (where it has no page markers)")

    def where(self) -> str:
        """Title, section, page and lines, as the reader looks them up."""
        parts = [self.title_display or self.title, self.section_converted or self.section
                 or "(no section)"]
        if self.page is not None:
            parts.append(f"p. {self.page}" if self.page_end is None else
                         f"pp. {self.page}–{self.page_end}")
        elif self.section_page is not None:
            parts.append(f"section from p. {self.section_page}")
        parts.append(f"line {self.line_start}" if self.line_start == self.line_end
                     else f"lines {self.line_start}-{self.line_end}")
        return ", ".join(parts)


class PassageInfo(LocatedSpan):
    """A retrieved passage: `text` is exactly the document's text[char_start:char_end]."""

    chunk_id: str
    text: str
    clean: str = Field(description="the passage as people read it: wraps joined, markup "
                       "rendered")
    score: float


class AskResponse(BaseModel):
    answer: str
    answerable: bool
    reply_script: str
    confidence: float
    citations: list[CitationInfo]
    passages: list[PassageInfo]
    timings_ms: dict[str, float]
    mode: Literal["extractive", "generated"] | None = Field(
        None, description="extractive: the answer quotes the documents; generated: a language "
        "model (WENDA_LLM_BASE_URL) worded it from the quotes, its [n] markers numbering "
        "`citations`")
    answer_type: AnswerType | None = Field(
        None, description="the kind of answer the question asks for: percentage, amount, "
        "number, date, year, person, organisation, list, yesno, definition or what")
    missing: str = Field("", description="when not answerable: what the documents do not "
                         "cover, such as an unknown company or an unreported year")
    inherited: list[str] = Field([], description="what a follow-up took from the earlier "
                                 "turns: subject, company, period")


class SearchResponse(BaseModel):
    hits: list[PassageInfo]


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    title_en: str
    company: str
    year: int | None
    doc_type: str
    script: Script
    parallel: str | None
    source: str
    chars: int
    lines: int
    pages: int


class SpanInfo(BaseModel):
    start: int
    end: int
    line_start: int
    line_end: int
    text: str = Field(description="exactly the document's original text[start:end]")


class DocumentListResponse(BaseModel):
    documents: list[DocumentInfo]


class DocumentResponse(DocumentInfo):
    span: SpanInfo | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_docs(*cases: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route's errors: (status, what it means) each."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in cases}


# ---- OpenAI-compatible chat ----------------------------------------------------------

class _OpenAI(BaseModel):
    # OpenAI's fields we do not use (name, tool_calls, temperature ...) are accepted and
    # ignored.
    model_config = ConfigDict(extra="allow")


class ContentPart(_OpenAI):
    type: SafeText
    text: SafeText | None = None


class ChatMessage(_OpenAI):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: SafeText | list[ContentPart] | None = None


class StreamOptions(_OpenAI):
    include_usage: StrictBool = False


class ChatCompletionRequest(_OpenAI):
    """OpenAI's request; the question is the last message, which must be the user's."""

    model: SafeText = "wenda"
    messages: list[ChatMessage] = Field(
        min_length=1, json_schema_extra={"contains": {"properties": {"role": {"const": "user"}},
                                                      "required": ["role"]}},
        description="the conversation; the last message is the question and must be the "
                    "user's, earlier user messages are its context")
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    # Wenda's own options, sent by the openai client through `extra_body`.
    top_k: TopK | None = None
    filters: FilterSpec | None = None
    reply_script: ReplyScript = "auto"


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Token counts are estimates: Wenda does not run a language-model tokenizer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    citations: list[CitationInfo]


class ChunkChoice(BaseModel):
    index: int = 0
    delta: dict[str, str]
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    citations: list[CitationInfo] | None = None


class ModelInfo(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "wenda"


class ModelListResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]


# ---- conversion from the pipeline's dataclasses --------------------------------------

def citation_info(citation: Citation) -> CitationInfo:
    return CitationInfo.model_validate(citation, from_attributes=True)


def passage_info(hit: Hit, documents: Mapping[str, Document]) -> PassageInfo:
    c = hit.chunk
    doc = documents.get(c.doc_id)
    return PassageInfo(
        chunk_id=c.chunk_id, doc_id=c.doc_id, title=doc.meta.title if doc else c.doc_id,
        section=c.section_path, page=c.page, line_start=c.line_start, line_end=c.line_end,
        char_start=c.char_start, char_end=c.char_end, text=c.text,
        clean=display(c.text, table=c.kind == "table"), score=hit.score)


def ask_response(answer: Answer, documents: Mapping[str, Document]) -> AskResponse:
    """The /v1/ask body for an answer; `wenda ask --json` prints the same."""
    return AskResponse(
        answer=answer.answer, answerable=answer.answerable, reply_script=answer.reply_script,
        confidence=answer.confidence, citations=[citation_info(c) for c in answer.citations],
        passages=[passage_info(h, documents) for h in answer.passages],
        timings_ms=dict(answer.timings_ms), mode=answer.mode, answer_type=answer.answer_type,
        missing=answer.missing, inherited=list(answer.inherited))


def document_info(doc: Document, readable: Container[str]) -> DocumentInfo:
    """A document's metadata; its parallel edition is named only if it is `readable` too."""
    m = doc.meta
    parallel = m.parallel if m.parallel in readable else None
    return DocumentInfo(
        doc_id=doc.doc_id, title=m.title, title_en=m.title_en, company=m.company, year=m.year,
        doc_type=m.doc_type, script=doc.script, parallel=parallel, source=doc.source,
        chars=len(doc.text), lines=doc.text.count("\n") + 1 if doc.text else 0,
        pages=len(doc.page_starts))
