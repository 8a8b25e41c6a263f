"""Request and response models of POST /v1/eval and GET /v1/eval/{job_id}."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "done", "failed"]


class EvalRequest(BaseModel):
    """Inline questions: each item is one line of a question file (eval/QUESTIONS.md)."""

    model_config = ConfigDict(extra="forbid")
    # Items stay untyped here so service.questions validates them, naming each bad one.
    questions: list[Any] = Field(description="question objects; item n is reported as line n")


class EvalJobResponse(BaseModel):
    """A job accepted for evaluation: poll `status_url` until `status` is done or failed."""

    job_id: str
    status: JobStatus
    questions: int
    status_url: str


class EvalQuestionResult(BaseModel):
    """One question's outcome: the fields of service.scoring.QuestionResult."""

    id: str
    question: str
    script: str
    type: str
    cross_lingual: bool
    doc_ids: list[str]
    expected_answerable: bool
    ranks: dict[str, int | None] = Field(
        description="1-based rank of the first passage holding the evidence, per method "
                    "(bm25, dense, hybrid); null when not in the top 10")
    answered: bool
    correct: bool
    citations_valid: bool
    answer: str
    cited: list[str] = Field(description='"doc_id:line_start-line_end" per citation')
    latency_ms: float
    answer_type: str = Field(description="the kind of answer the question was read as asking "
                                         "for (number, amount, percentage, date, …)")
    tags: list[str] = Field(description="the question file's tags (follow-up, list, …)")
    names_missing: bool = Field(description="an abstention that names what is missing")
    expects_missing: bool = Field(description="the question names what its abstention must "
                                              "say is missing")
    language_ok: bool = Field(description="the reply is in the asker's language and script")
    markup_free: bool = Field(description="no raw markup (<sup>, **) in the reply")
    figures_cited: bool = Field(description="every figure of the reply stands in a citation")


class EvalStatusResponse(BaseModel):
    job_id: str
    status: JobStatus
    done: int = Field(description="questions evaluated so far")
    total: int
    elapsed_s: float = Field(description="seconds since the job started running")
    summary: dict[str, Any] | None = Field(
        None, description="when done: the metrics `wenda eval` reports (questions, retrieval "
                          "recall@k and MRR per method and group, answers, latency_ms, misses)")
    results: list[EvalQuestionResult] | None = Field(None, description="when done")
    error: str | None = Field(None, description="when failed")


# POST /v1/eval reads its body itself (a file or JSON), so its two forms are described here.
EVAL_REQUEST_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "additionalProperties": False,
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "a UTF-8 JSONL question file"}}}},
    "application/json": {"schema": {
        "type": "object", "required": ["questions"], "additionalProperties": False,
        "properties": {"questions": {
            "type": "array", "items": {"type": "object"},
            "description": "question objects in the question-file format"}}}},
}}}
