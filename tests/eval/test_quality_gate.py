"""The CI quality gate: the bundled corpus must keep the recall and accuracy we measured."""

from __future__ import annotations

import pytest

from eval.cli import DEFAULT_QUESTIONS, gate_failures, load_thresholds
from service.api.backend import EngineBackend
from service.config import Settings
from service.engine import Engine
from service.questions import load_questions
from service.scoring import evaluate, summarise


@pytest.mark.e2e
def test_the_bundled_corpus_passes_the_quality_gate(full_corpus_settings: Settings) -> None:
    engine = Engine.start(full_corpus_settings)
    summary = summarise(evaluate(EngineBackend(engine), load_questions(DEFAULT_QUESTIONS)))
    assert gate_failures(summary, load_thresholds()) == []
