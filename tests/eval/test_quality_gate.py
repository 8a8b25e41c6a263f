"""The CI quality gate: the bundled corpus must keep the recall and accuracy we measured."""

from __future__ import annotations

import pytest

from eval.cli import gate_failures, load_thresholds
from eval.questions import load_questions
from eval.runner import evaluate, summarise
from service.api.backend import EngineBackend
from service.config import Settings
from service.engine import Engine


@pytest.mark.e2e
def test_the_bundled_corpus_passes_the_quality_gate(full_corpus_settings: Settings) -> None:
    engine = Engine.start(full_corpus_settings)
    summary = summarise(evaluate(EngineBackend(engine), load_questions()))
    assert gate_failures(summary, load_thresholds()) == []
