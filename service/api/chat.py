"""OpenAI-compatible chat: POST /v1/chat/completions (plain and streamed) and GET /v1/models."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from service.api import queries
from service.api.deps import AccessDep, BackendDep, SettingsDep
from service.errors import InvalidRequestError, UnknownModelError
from service.schemas import (
    AskRequest,
    AskResponse,
    AssistantMessage,
    ChatChoice,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChunkChoice,
    ModelInfo,
    ModelListResponse,
    Usage,
)

router = APIRouter(tags=["openai"])
MODEL = "wenda"
STREAM_PIECE = 24  # characters per streamed delta
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+|[^\w\s]")


@router.get("/models")
async def list_models() -> ModelListResponse:
    """OpenAI's model list; any model name is accepted by chat completions."""
    return ModelListResponse(data=[ModelInfo(id=MODEL)])


@router.get("/models/{model}")
async def get_model(model: str) -> ModelInfo:
    if model != MODEL:
        raise UnknownModelError(f"no model {model!r}: Wenda serves {MODEL!r}")
    return ModelInfo(id=MODEL)


@router.post("/chat/completions", response_model=None, responses={200: {
    "model": ChatCompletionResponse,
    "description": "the completion; with `stream: true`, server-sent events of "
                   "ChatCompletionChunk objects ending with `data: [DONE]`",
    # Each event: {"data": "<a ChatCompletionChunk as JSON>"}, the last one "[DONE]".
    "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}}}}})
def chat_completions(body: ChatCompletionRequest, backend: BackendDep, settings: SettingsDep,
                     access: AccessDep) -> ChatCompletionResponse | StreamingResponse:
    """Ask through the OpenAI chat API: the last user message is the question."""
    question, history = question_and_history(body.messages)
    top_k = body.top_k or AskRequest.model_fields["top_k"].default
    request = AskRequest(question=question, top_k=top_k, filters=body.filters,
                         reply_script=body.reply_script)
    # Answered before the stream opens, so every error is still a proper HTTP status.
    result = queries.ask(backend, settings, request, access, history)
    content = reply_text(result)
    usage = estimate_usage(body.messages, content)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            stream(completion_id, created, body.model, content, result, usage, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return ChatCompletionResponse(
        id=completion_id, created=created, model=body.model,
        choices=[ChatChoice(message=AssistantMessage(content=content))], usage=usage,
        citations=result.citations)


def question_and_history(messages: list[ChatMessage]) -> tuple[str, list[str]]:
    """The last message's text as the question, earlier user messages as context."""
    last = messages[-1]
    if last.role != "user":
        raise InvalidRequestError(
            f"messages: the last message must be the user's question, not {last.role!r}")
    texts = [message_text(m, i) for i, m in enumerate(messages) if m.role == "user"]
    return texts[-1], texts[:-1]


def message_text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    others = sorted({p.type for p in content if p.type != "text"})
    if others:
        raise InvalidRequestError(f"messages.{index}.content: only text parts are supported, "
                                  f"got {', '.join(others)}")
    return "\n".join(p.text or "" for p in content)


def reply_text(result: AskResponse) -> str:
    """The answer with [n] markers, the quoted evidence below it (as people read it, in the
    reply script), then a "Sources:" list naming title, section, page and lines."""
    text = result.answer.rstrip()
    if not result.citations:
        return text
    if not any(f"[{c.n}]" in text for c in result.citations):
        text += " " + "".join(f"[{c.n}]" for c in result.citations)
    lines = [text, ""]
    lines += [f"[{c.n}] {c.display_converted or c.display or c.quote}" for c in result.citations]
    lines += ["", "Sources:", *(f"[{c.n}] {c.where()}" for c in result.citations)]
    return "\n".join(lines)


def estimate_usage(messages: list[ChatMessage], content: str) -> Usage:
    prompt = sum(len(_TOKEN.findall(message_text(m, i)))
                 for i, m in enumerate(messages) if m.role == "user")
    completion = len(_TOKEN.findall(content))
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=prompt + completion)


def stream(completion_id: str, created: int, model: str, content: str, result: AskResponse,
           usage: Usage, include_usage: bool) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`."""
    def event(choices: list[ChunkChoice], **fields: object) -> str:
        chunk = ChatCompletionChunk.model_validate(
            {"id": completion_id, "created": created, "model": model, "choices": choices,
             **fields})
        return f"data: {chunk.model_dump_json()}\n\n"

    yield event([ChunkChoice(delta={"role": "assistant", "content": ""})])
    for start in range(0, len(content), STREAM_PIECE):
        yield event([ChunkChoice(delta={"content": content[start:start + STREAM_PIECE]})])
    yield event([ChunkChoice(delta={}, finish_reason="stop")], citations=result.citations)
    if include_usage:  # OpenAI's convention: a last chunk with no choices carries the usage
        yield event([], usage=usage)
    yield "data: [DONE]\n\n"
