"""Feedback on answers: thumbs up or down, kept under the data folder
(`data/feedback/feedback.sqlite`), and turned into question-file lines to check
(`wenda eval export-feedback`)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from index.script import detect_script

FEEDBACK_DB = Path("feedback") / "feedback.sqlite"
Rating = Literal["up", "down"]
_SCHEMA = """CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY, created REAL NOT NULL, rating TEXT NOT NULL, question TEXT NOT NULL,
    history TEXT NOT NULL, answer TEXT NOT NULL, quotes TEXT NOT NULL, comment TEXT NOT NULL)"""
_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Quote:
    doc_id: str
    text: str  # the document's text at the cited span, as stored when the rating came


@dataclass(frozen=True)
class Feedback:
    feedback_id: int
    created: float
    rating: Rating
    question: str
    history: tuple[str, ...]
    answer: str
    quotes: tuple[Quote, ...]
    comment: str


class FeedbackStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FEEDBACK_DB

    def add(self, rating: Rating, question: str, history: list[str], answer: str,
            quotes: list[Quote], comment: str) -> int:
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created, rating, question, history, answer, quotes, "
                "comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), rating, question, json.dumps(history, ensure_ascii=False), answer,
                 json.dumps([q.__dict__ for q in quotes], ensure_ascii=False), comment))
            return int(cursor.lastrowid or 0)

    def all(self) -> list[Feedback]:
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute("SELECT id, created, rating, question, history, answer, quotes, "
                              "comment FROM feedback ORDER BY id").fetchall()
        return [Feedback(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5],
                         tuple(Quote(**q) for q in json.loads(r[6])), r[7]) for r in rows]

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute(_SCHEMA)
            with db:
                yield db
        finally:
            db.close()


def question_line(item: Feedback) -> dict[str, Any]:
    """A question-file line (eval/QUESTIONS.md) for a person to check and complete.

    A thumbs-up becomes an answerable question: the figures of the approved answer that its
    quotes hold are the accepted answers, and the quotes' longest lines the evidence (each
    on one line of its document, as the format asks). A thumbs-down becomes an unanswerable
    candidate: if the documents do hold the answer, fill in `answers`, `evidence` and
    `doc_ids`, and set `type`."""
    script = detect_script(item.question, default="en")
    line: dict[str, Any] = {"id": f"fb-{item.feedback_id:04d}", "question": item.question,
                            "script": script}
    if item.history:
        line["history"] = list(item.history)
    quotes = [q for q in item.quotes if q.text.strip()]
    answers = [f for f in dict.fromkeys(_FIGURE.findall(item.answer))
               if any(f in q.text for q in quotes)] if item.rating == "up" else []
    if item.rating == "up" and answers:
        doc_ids = list(dict.fromkeys(q.doc_id for q in quotes))
        evidence = [{"doc_id": q.doc_id, "text": max(q.text.split("\n"), key=len).strip()}
                    for q in quotes]
        line |= {"doc_ids": doc_ids, "answers": answers, "evidence": evidence,
                 "type": "number", "cross_lingual": False}
    else:
        line |= {"doc_ids": [], "answers": [], "evidence": [], "type": "unanswerable",
                 "cross_lingual": False}
    line["tags"] = [f"feedback-{item.rating}"]
    return line
