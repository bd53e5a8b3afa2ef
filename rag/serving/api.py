"""An OpenAI-compatible chat API over the engine: `POST /v1/chat/completions` and `GET /v1/models`.

Answers keep their sources on every client:

- the message `content` is the answer with its [n] markers, then a "Sources:" list (title, date,
  URL, quote), so clients that drop unknown fields still show where the answer comes from;
- the message's extra field `citations` holds them structured (`n`, `title`, `url`, `doc_id`,
  `date`, `quote`, `quote_start`, `quote_end`, `supported`), with `abstained` beside it; a
  stream carries both on its last chunk's `delta`.

Requests: `messages` (earlier user/assistant turns are the history, so follow-ups work),
`stream`, and the optional filters `countries` and `docs`, as lists in the body or as
comma-separated strings in `metadata` (whose values OpenAI's clients send as strings). `model`
may name anything; the reply's `model` says what answered. Errors have OpenAI's JSON shape.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.answer import Answer, Citation
from rag.answering.citations import earlier_of_document, same_document
from rag.engine import Engine
from rag.errors import (
    EmptyStoreError,
    IndexingError,
    LLMError,
    QuestionError,
    RagError,
    StoreError,
    UnknownCountryError,
    UnknownDocumentError,
)
from rag.query import check_names
from rag.retrieval.conversation import without_sources
from rag.safe_text import SafeStream, safe_text, safe_url
from rag.serving.json_forms import citation_json
from rag.settings import Settings

log = logging.getLogger(__name__)

ALIAS = "rag"  # a model name that always works, whichever backend answers
SOURCES_HEADING = "\n\nSources:\n"
QUOTE_CHARS = 240  # a Sources line quotes this much; `citations` has the whole quote
DRAIN_LIMIT = 16 * 2**20  # bytes of an oversized body read (and dropped) so the client sees the 413
TOKEN = re.compile(r"\w+|[^\w\s]")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ApiError(Exception):
    """An error reply in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        """OpenAI's error type for the status."""
        return "invalid_request_error" if self.status < 500 else "server_error"

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        """The HTTP reply."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def api_error(exc: RagError) -> ApiError:
    """The HTTP status and code for one of the engine's errors."""
    match exc:
        case IndexingError():
            return ApiError(503, str(exc), "indexing", headers={"Retry-After": str(exc.retry_after_s)})
        case EmptyStoreError():
            return ApiError(503, str(exc), "empty_store")
        case UnknownCountryError():
            return ApiError(400, str(exc), "unknown_country", "countries")
        case UnknownDocumentError():
            return ApiError(400, str(exc), "unknown_document", "docs")
        case QuestionError():
            return ApiError(400, str(exc), "invalid_question", "messages")
        case LLMError():
            return ApiError(502, str(exc), "llm_unavailable")
        case StoreError():
            log.warning("%s", exc)  # the operator's version, with the store's path
            return ApiError(503, exc.public, "store_unavailable")
    return ApiError(500, str(exc), "rag_error")


# --------------------------------------------------------------------------- request


class ContentPart(BaseModel):
    """One part of a multi-part message; only text parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class ChatRequest(BaseModel):
    """The fields of a chat completion request that we read; the rest are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    metadata: dict[str, Any] | None = None
    countries: list[str] | None = None
    docs: list[str] | None = None

    def filter(self, name: Literal["countries", "docs"]) -> list[str] | None:
        """A filter from the body field, else from `metadata` ("Japan, Philippines"), else None."""
        value = getattr(self, name)
        if value is None and self.metadata and self.metadata.get(name) is not None:
            value = self.metadata[name]
            if isinstance(value, str):
                value = [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
        try:
            return check_names(value, name) or None
        except QuestionError as exc:
            raise ApiError(400, str(exc), "invalid_filter", name) from None


def parse_request(body: bytes) -> ChatRequest:
    """The request, or a 400 that says what is wrong with it."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.", "invalid_json") from None
    except RecursionError:
        raise ApiError(400, "The request body is JSON nested too deep to read.", "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object with `messages`.", "invalid_json")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ApiError(400, f"Invalid `{where}`: {first['msg']}.", "invalid_request", where) from None


def conversation(messages: list[Message]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the last user message, and the user/assistant turns before it."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(400, "The last message must be the user's question.", "invalid_request", "messages")
    # Our own earlier replies come back with their Sources list; the history needs the answer alone.
    history = [{"role": m.role, "content": without_sources(m.text())} for m in turns[:-1]]
    return turns[-1].text(), history


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 once it passes `limit` bytes."""
    too_large = ApiError(413, f"The request is larger than {limit // 1024} KB (RAG_API_MAX_REQUEST_KB).", "too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        raise too_large
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            body += chunk
        elif size > DRAIN_LIMIT:
            break  # reading on would only feed a flood
    if size > limit:
        raise too_large
    return bytes(body)


# --------------------------------------------------------------------------- reply


def model_id(engine: Engine) -> str:
    """What answers, as a model name: "extractive", or backend/model ("local/SmolLM2-135M-Instruct.Q4_1.gguf")."""
    return engine.backend if engine.backend == "extractive" else f"{engine.backend}/{engine.model}"


def count_tokens(text: str) -> int:
    """Words and punctuation marks: a tokenizer-free estimate that is the same for every backend."""
    return len(TOKEN.findall(text))


def sources_text(citations: list[Citation]) -> str:
    """The "Sources:" list appended to the content: one line per citation with its title, URL and quote."""
    if not citations:
        return ""
    lines, earlier = [], earlier_of_document(citations)
    for c in citations:
        quote = " ".join(c.quote.split())
        if len(quote) > QUOTE_CHARS:
            quote = quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
        date = f" ({c.date})" if c.date else ""
        source = (
            same_document(earlier[c.n])
            if c.n in earlier
            else f"{c.title or c.doc_id}{date} {safe_url(c.url) or c.doc_id}"
        )
        line = f'[{c.n}] {source} - "{quote}"'
        lines.append(safe_text(line))
    return SOURCES_HEADING + "\n".join(lines)


def usage(question: str, history: list[dict[str, str]], answer: Answer, content: str) -> dict[str, int]:
    """Token counts: the question, history and passages the answer was made from; the reply."""
    prompt = count_tokens(question) + sum(count_tokens(t["content"]) for t in history)
    prompt += sum(count_tokens(hit.text) for hit in answer.retrieved)
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(engine: Engine, question: str, history: list[dict[str, str]], answer: Answer) -> dict[str, Any]:
    """A `chat.completion` object for a whole answer."""
    content = safe_text(answer.text) + sources_text(answer.citations)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_id(engine),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "citations": [citation_json(c) for c in answer.citations],
                    "abstained": answer.abstained,
                },
                "finish_reason": "stop",
            }
        ],
        "usage": usage(question, history, answer, content),
    }


def sse(data: dict[str, Any] | str) -> str:
    """One server-sent event."""
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


# --------------------------------------------------------------------------- app


WRONG_KEY = ApiError(401, "Missing or wrong API key: send `Authorization: Bearer <RAG_API_KEY>`.", "invalid_api_key")


def bearer_matches(authorization: str, key: str) -> bool:
    """Whether an Authorization header's value is `Bearer <key>` (compared in constant time)."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), key.encode())


def authorize(request: Request, key: str | None) -> None:
    """Nothing when no key is set or the bearer token matches; else a 401."""
    if key is not None and not bearer_matches(request.headers.get("authorization", ""), key):
        raise WRONG_KEY


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for X-Forwarded-For: honoured only from RAG_TRUSTED_PROXIES (uvicorn's own default trusts
    loopback, so that any local process, or a proxy that passes the header on, could pick the client's address)."""
    trusted = [host.strip() for host in settings.trusted_proxies.split(",") if host.strip()]
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def create_api(engine: Engine) -> FastAPI:
    """The FastAPI app serving /v1/chat/completions and /v1/models for `engine` (mount the UI on it if wanted)."""
    settings = engine.settings
    key = settings.api_key.get_secret_value() if settings.api_key else None
    limit = settings.api_max_request_kb * 1024
    # The engine is synchronous and CPU-bound: as many answers at once as the UI allows, the rest wait.
    slots = anyio.CapacityLimiter(settings.ui_concurrency)
    app = FastAPI(title="Diplomatic Overdrive RAG API", docs_url=None, redoc_url=None, openapi_url=None)

    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args, limiter=slots)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        log.info("%s %s -> %d %s", request.method, request.url.path, exc.status, exc.message)
        return exc.response()

    @app.exception_handler(RagError)
    async def on_rag_error(request: Request, exc: RagError) -> Response:
        return await on_api_error(request, api_error(exc))

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        authorize(request, key)
        created = int(time.time())
        ids = dict.fromkeys([model_id(engine), ALIAS])
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": created, "owned_by": "diplomatic-rag"} for i in ids],
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        authorize(request, key)
        chat = parse_request(await read_body(request, limit))
        question, history = conversation(chat.messages)
        filters = {"countries": chat.filter("countries"), "docs": chat.filter("docs")}
        try:
            if not chat.stream:
                answer = await call(lambda: engine.ask(question, history, **filters))
                return JSONResponse(completion(engine, question, history, answer))
            stream = engine.stream(question, history, **filters)
            first = await call(next, stream)  # errors before the first token still get their status code
        except RagError as exc:
            raise api_error(exc) from None
        except Exception:
            log.exception("chat completion for %r failed", question)
            raise ApiError(500, "Something went wrong; see the server log.", "internal_error") from None
        return StreamingResponse(
            stream_events(engine, question, history, first, stream, call),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> Response:
        raise ApiError(
            404,
            f"No endpoint {request.method} /v1/{rest}; this one offers POST /v1/chat/completions and GET /v1/models.",
            "unknown_endpoint",
        )

    return app


async def stream_events(
    engine: Engine,
    question: str,
    history: list[dict[str, str]],
    first: str | Answer,
    stream: Iterator[str | Answer],
    call: Callable[..., Any],
) -> AsyncIterator[str]:
    """OpenAI `chat.completion.chunk` events: the deltas, the checked answer if it differs, the sources, [DONE]."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model_id(engine)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    done = object()
    streamed: list[str] = []
    shown: list[str] = []  # what the client got: the streamed text made safe
    safe = SafeStream()
    try:
        yield chunk({"role": "assistant", "content": ""})
        item: Any = first
        while not isinstance(item, Answer):
            streamed.append(item)
            if piece := safe.feed(item):
                shown.append(piece)
                yield chunk({"content": piece})
            item = await call(next, stream, done)
            if item is done:
                raise RagError("The answer ended without its checked form.")
        answer: Answer = item
        tail = safe.close()
        if answer.text.strip() != "".join(streamed).strip():
            tail += f"\n\nChecked answer: {safe_text(answer.text)}"  # the citation check dropped or changed something
        tail += sources_text(answer.citations)
        if tail:
            yield chunk({"content": tail})
        content = "".join(shown) + tail
        extra = {"citations": [citation_json(c) for c in answer.citations], "abstained": answer.abstained}
        yield chunk(extra, "stop", usage=usage(question, history, answer, content))
    except RagError as exc:
        error = api_error(exc)
        log.info("stream for %r stopped: %s", question, error.message)
        yield sse(error.body())
    except Exception:
        log.exception("stream for %r failed", question)
        yield sse(ApiError(500, "Something went wrong; see the server log.", "internal_error").body())
    finally:
        with anyio.CancelScope(shield=True):  # a local model's lock is released even if the client left
            await anyio.to_thread.run_sync(stream.close)
    yield sse("[DONE]")


def serve(engine: Engine, host: str, port: int) -> None:
    """Serve the API alone (what `rag serve` runs) until interrupted."""
    import uvicorn

    if host not in LOOPBACK and engine.settings.api_key is None:
        log.warning("serving the API on %s without a key; set RAG_API_KEY", host)
    uvicorn.run(create_api(engine), host=host, port=port, log_level="info", **proxy_options(engine.settings))
