"""The API's domain errors and the one translation of every failure into an error body."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads these errors too, without loading the web framework
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger("wenda.api")


class WendaError(Exception):
    """A failure the client can act on: an HTTP status, a stable code and a message."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class InvalidRequestError(WendaError):
    status, code = 422, "invalid_request"


class MalformedJsonError(WendaError):
    status, code = 400, "malformed_json"


class EmptyQuestionError(WendaError):
    status, code = 422, "empty_question"


class QuestionTooLongError(WendaError):
    status, code = 422, "question_too_long"


class UnknownDocumentError(WendaError):
    status, code = 404, "unknown_document"


class UnknownModelError(WendaError):
    status, code = 404, "unknown_model"


class UnauthorizedError(WendaError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": 'Bearer realm="wenda"'})


class IndexNotLoadedError(WendaError):
    status, code = 503, "index_not_loaded"


class InvalidQuestionsError(WendaError):
    status, code = 422, "invalid_questions"


class TooManyQuestionsError(WendaError):
    status, code = 422, "too_many_questions"


class UnsupportedFileError(WendaError):
    status, code = 415, "unsupported_file"


class TooManyJobsError(WendaError):
    status, code = 429, "too_many_jobs"


class ForbiddenError(WendaError):
    status, code = 403, "forbidden"


class PayloadTooLargeError(WendaError):
    status, code = 413, "payload_too_large"


class UnreadableDocumentError(WendaError):
    status, code = 422, "unreadable_document"


class UnknownJobError(WendaError):
    status, code = 404, "unknown_job"


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "too_many_requests"}


_FASTAPI_PARSE_ERROR = "There was an error parsing the body"


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure, ours or the framework's, through the one error shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(WendaError, _wenda_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _wenda_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WendaError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    from fastapi.exceptions import RequestValidationError

    assert isinstance(exc, RequestValidationError)
    return await _wenda_error(request, translate_validation(exc.errors()))


def translate_validation(errors: Sequence[Any]) -> WendaError:
    """FastAPI's validation errors as one of ours, naming each bad field."""
    for error in errors:
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "JSON decode error")
            return MalformedJsonError(f"the request body is not valid JSON: {detail}")
    return InvalidRequestError("; ".join(_describe(e) for e in errors[:5]) or "invalid request")


def _describe(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header"):  # where, not which field
        loc = loc[1:]
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "missing" and not loc:
        return "the request body is required (a JSON object)"
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    return f"{'.'.join(loc) or 'body'}: {message}"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 400 and exc.detail == _FASTAPI_PARSE_ERROR:
        # FastAPI's answer when json.loads raises anything but a decode error: in practice
        # RecursionError, for JSON nested deeper than Python parses.
        return error_response(400, "malformed_json", "the request body is not valid JSON "
                              "that Wenda reads: it is nested too deeply")
    if exc.status_code == 404:
        message = f"no such route: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        allowed = _allowed_methods(request) or [
            m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()]
        message = (f"method {request.method} is not allowed on {request.url.path}; "
                   f"use {' or '.join(allowed)}")
        return error_response(405, code, message, {"Allow": ", ".join(allowed)})
    else:
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, exc.headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API's schema documents for this path, HEAD with GET (Starlette
    names only those of the first route that matched: POST for /v1/search, which takes GET
    too); empty for paths outside the schema."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug: the details go to the server log, never to the client.
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error")
