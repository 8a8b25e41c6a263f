"""App shutdown: evaluation jobs still running stop between two questions and their threads
are joined, so none outlives the app (or the test) that started it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fakes import api_client

from service.access import OPEN, Filters
from service.app import create_app
from service.config import Settings
from service.retrieve import Hit, Method

if TYPE_CHECKING:
    from conftest import FakeBackend


@dataclass
class SlowBackend:
    """The fake backend, a little slow to search, saying when the first search starts."""

    inner: FakeBackend
    searching: threading.Event = field(default_factory=threading.Event)

    def __getattr__(self, name: str) -> Any:  # documents, description, answer
        return getattr(self.inner, name)

    def search(self, query: str, k: int, filters: Filters, method: Method) -> list[Hit]:
        self.searching.set()
        time.sleep(0.02)
        return self.inner.search(query, k, filters, method)


def question(n: int) -> dict[str, Any]:
    return {"id": f"en-{n}", "question": "Which project is the report about?", "script": "en",
            "doc_ids": ["en"], "answers": ["Project Wing"],
            "evidence": [{"doc_id": "en", "text": "Project Wing"}], "type": "entity"}


def test_shutdown_stops_a_running_evaluation_and_waits_for_its_thread(
        settings: Settings, backend: FakeBackend) -> None:
    slow = SlowBackend(backend)
    roomy = settings.model_copy(update={"max_upload_bytes": 1_000_000})
    app = create_app(roomy, engine=slow)  # type: ignore[arg-type]
    with api_client(app) as client:
        accepted = client.post("/v1/eval", json={"questions": [question(n) for n in range(200)]})
        assert accepted.status_code == 202, accepted.text
        assert slow.searching.wait(10)
    job = app.state.eval_jobs.get(accepted.json()["job_id"], OPEN)  # no keys: open access
    assert job.status == "failed" and job.done < job.total
    assert job.error == "the server stopped before the evaluation finished"
    assert not [t for t in threading.enumerate() if t.name.startswith("wenda-eval-")]
