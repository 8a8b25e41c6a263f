"""POST /v1/feedback: ratings stored with the cited text; spans and documents checked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.config import Settings
from service.feedback import FeedbackStore, question_line


def test_a_rating_is_stored_with_the_text_it_cited(client: TestClient, settings: Settings
                                                   ) -> None:
    doc = client.get("/v1/documents").json()["documents"][0]
    response = client.post("/v1/feedback", json={
        "rating": "down", "question": " What was revenue? ", "answer": "RMB 5 [1]",
        "citations": [{"doc_id": doc["doc_id"], "char_start": 0, "char_end": 20}],
        "comment": "wrong year"})
    assert response.status_code == 201, response.text
    [stored] = FeedbackStore(settings.data_dir).all()
    assert (stored.rating, stored.question, stored.comment) == ("down", "What was revenue?",
                                                                "wrong year")
    assert stored.quotes[0].doc_id == doc["doc_id"] and len(stored.quotes[0].text) == 20
    assert question_line(stored)["type"] == "unanswerable"  # a candidate to check


def test_a_rating_citing_what_the_caller_cannot_read_is_refused(keyed_client: TestClient
                                                                ) -> None:
    public = {"Authorization": "Bearer public-key"}
    visible = {d["doc_id"] for d in keyed_client.get("/v1/documents", headers=public).json()[
        "documents"]}
    admin = {"Authorization": "Bearer admin-key"}
    hidden = [d["doc_id"] for d in keyed_client.get("/v1/documents", headers=admin).json()[
        "documents"] if d["doc_id"] not in visible]
    assert hidden
    for doc_id in (hidden[0], "no-such-document"):
        response = keyed_client.post("/v1/feedback", headers=public, json={
            "rating": "up", "question": "q?", "citations": [
                {"doc_id": doc_id, "char_start": 0, "char_end": 5}]})
        assert (response.status_code, response.json()["error"]["code"]) == (
            404, "unknown_document")
    bad = keyed_client.post("/v1/feedback", headers=public, json={
        "rating": "up", "question": "q?", "citations": [
            {"doc_id": sorted(visible)[0], "char_start": 5, "char_end": 5}]})
    assert bad.status_code == 422
    assert keyed_client.post("/v1/feedback", headers=public, json={
        "rating": "meh", "question": "q?"}).status_code == 422
