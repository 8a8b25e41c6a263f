"""Known-answer questions (eval/QUESTIONS.md): their format, loading with line-by-line
errors, checking against the documents."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from index.types import Script

QuestionType = Literal["number", "date", "entity", "definition", "list", "yesno",
                       "unanswerable"]


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    doc_id: str = Field(min_length=1)
    text: str = Field(min_length=2)


class Question(BaseModel):
    """One line of a question file (see eval/QUESTIONS.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=100)
    question: str = Field(min_length=1, max_length=2000)
    script: Script
    doc_ids: list[str] = []
    answers: list[str] = []
    evidence: list[Evidence] = []
    type: QuestionType
    cross_lingual: bool = False
    # Earlier user turns of the conversation, oldest first: the question is a follow-up.
    history: list[str] = Field(default=[], max_length=4)
    # For an unanswerable question: what the reply must name as not covered (any one of
    # them: the unknown company "Apple", the period "2019" ...).
    missing: list[str] = []
    tags: list[str] = []  # kinds of question for the report: follow-up, unknown-entity ...

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.answerable and not (self.doc_ids and self.answers and self.evidence):
            raise ValueError("an answerable question needs doc_ids, answers and evidence")
        if not self.answerable and (self.doc_ids or self.answers or self.evidence):
            raise ValueError("an unanswerable question has no doc_ids, answers or evidence")
        if self.answerable and self.missing:
            raise ValueError("only an unanswerable question names what is missing")
        stray = {e.doc_id for e in self.evidence} - set(self.doc_ids)
        if stray:
            raise ValueError(f"evidence from documents not in doc_ids: {sorted(stray)}")
        return self


class QuestionFileError(ValueError):
    """A question file with bad lines; `problems` names each line and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:20]) + (
            f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
        self.problems = problems


def parse_questions(text: str, source: str = "questions") -> list[Question]:
    """Questions from JSONL text; every bad line is reported with its number."""
    questions: list[Question] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"{source} line {number}: not JSON ({exc.msg})")
        except RecursionError:
            problems.append(f"{source} line {number}: nested too deeply to be a question")
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}"
                               for e in exc.errors())
            problems.append(f"{source} line {number}: {detail}")
    repeated = [qid for qid, n in Counter(q.id for q in questions).items() if n > 1]
    problems += [f"{source}: id {qid!r} appears more than once" for qid in repeated]
    if not questions and not problems:
        problems.append(f"{source}: no questions")
    if problems:
        raise QuestionFileError(problems)
    return questions


def load_questions(path: Path) -> list[Question]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError([f"{path}: cannot read ({exc})"]) from exc
    return parse_questions(text, str(path))


@dataclass(frozen=True)
class CheckReport:
    questions: int
    problems: list[str]


def check_questions(questions: list[Question], texts: dict[str, str]) -> CheckReport:
    """Every evidence string must stand verbatim in its document (`texts`: doc_id -> text)."""
    problems = []
    for q in questions:
        for doc_id in q.doc_ids:
            if doc_id not in texts:
                problems.append(f"{q.id}: unknown document {doc_id!r}")
        for evidence in q.evidence:
            text = texts.get(evidence.doc_id)
            if text is not None and evidence.text not in text:
                problems.append(f"{q.id}: evidence not found verbatim in {evidence.doc_id}: "
                                f"{evidence.text[:60]!r}")
    return CheckReport(len(questions), problems)
