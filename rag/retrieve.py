"""Hybrid retrieval: Chroma vectors + BM25, fused by reciprocal rank, with country filter and boost."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ingest.chunking import content_sentences
from ingest.countries import canonical_country, country_key, find_countries
from rag.errors import EmptyStoreError, UnknownCountryError
from rag.settings import Settings
from rag.store import SENTENCE_VECTORS, Embedder, Store, is_retired, unpack_vectors

log = logging.getLogger(__name__)


@dataclass
class Hit:
    """One retrieved chunk with its fused score and the evidence behind it."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    url: str
    date: str
    section: str
    page: int | None
    text: str
    start: int
    end: int
    countries: list[str]
    score: float
    vector_score: float | None = None
    bm25_score: float | None = None
    sentence_score: float | None = None  # cosine of the question and the chunk's best-matching sentence
    metadata: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what `rag search --json` prints)."""
        data = asdict(self)
        data.pop("metadata")
        return data


def resolve_countries(names: list[str] | None) -> list[str]:
    """Canonical names for a user's country filter; unknown names raise with a hint."""
    resolved = []
    for name in names or []:
        canonical = canonical_country(name)
        if canonical is None:
            raise UnknownCountryError(
                f"Unknown country or grouping {name!r}; try a name like 'Philippines' or 'ASEAN'."
            )
        resolved.append(canonical)
    return sorted(set(resolved))


def country_where(countries: list[str]) -> dict | None:
    """A Chroma `where` that keeps chunks mentioning any of `countries`."""
    clauses: list[dict] = [{country_key(c): True} for c in countries]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


class _Bm25Index:
    """BM25 over every stored chunk, rebuilt from the store so a fresh process needs no re-ingest."""

    def __init__(self, store: Store) -> None:
        import bm25s
        import Stemmer

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it forces DEBUG on itself
        self._stemmer = Stemmer.Stemmer("english")
        records = list(store.iter_records(include=("documents", "metadatas")))
        self.ids = [r["id"] for r in records]
        self.texts = [r["document"] for r in records]
        self.metadatas = [r["metadata"] or {} for r in records]
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self._flags: dict[str, np.ndarray] = {}  # country -> which chunks mention it
        self.model = bm25s.BM25()
        if records:
            corpus = [self._embedding_free_text(m, t) for m, t in zip(self.metadatas, self.texts, strict=True)]
            self.model.index(self._tokenize(corpus), show_progress=False)

    @staticmethod
    def _embedding_free_text(meta: dict, text: str) -> str:
        return f"{meta.get('title', '')}\n{meta.get('section', '')}\n{text}"

    def _tokenize(self, texts: list[str]) -> Any:
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)

    def mentions(self, countries: list[str]) -> np.ndarray | None:
        """Which chunks mention any of `countries`, as a boolean mask (None: no filter)."""
        if not countries:
            return None
        for country in countries:
            if country not in self._flags:  # one pass over the metadata per country, then reused
                key = country_key(country)
                self._flags[country] = np.fromiter((bool(m.get(key)) for m in self.metadatas), bool, len(self.ids))
        return np.logical_or.reduce([self._flags[c] for c in countries])

    def scores(self, question: str, mask: np.ndarray | None) -> np.ndarray:
        import bm25s

        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        ids = self.model.get_tokens_ids(tokens[0]) if tokens and tokens[0] else []
        if not ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores_from_ids(ids, weight_mask=mask)


class Retriever:
    """Ranks stored chunks for a question. Thread-safe; call `refresh()` after an ingest."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._bm25: _Bm25Index | None = None
        self._bm25_count = -1
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Forget the BM25 index so the next query rebuilds it from the store."""
        with self._lock:
            self._bm25 = None

    def build_index(self) -> None:
        """Build the BM25 index now instead of on the first question (start-up warm-up, benchmarks)."""
        self._bm25_index(self.store.count())

    def _bm25_index(self, count: int) -> _Bm25Index:
        """The BM25 index, rebuilt when the store's size says another process has changed it."""
        with self._lock:
            if self._bm25 is None or count != self._bm25_count:
                self._bm25 = _Bm25Index(self.store)
                self._bm25_count = count
            return self._bm25

    def vector_hits(
        self,
        question: str,
        n: int,
        where: dict | None,
        embedding: np.ndarray | None = None,
        ids: list[str] | None = None,
    ) -> list[tuple[str, float, str, dict]]:
        """(id, cosine, text, metadata) of the nearest chunks, best first: the vector half of the hybrid.

        `ids` (the chunks `where` selects, known from the BM25 index) narrows faster than `where`.

        Chroma doesn't index boolean metadata, so a `where` on a country flag scans every chunk's
        metadata rows: ~130 ms a query at 100k chunks, against ~20 ms for the same search by id list.
        """
        from llama_index.core.vector_stores.types import VectorStoreQuery
        from llama_index.vector_stores.chroma import ChromaVectorStore

        if ids is not None and not ids:
            return []
        if embedding is None:
            embedding = self.embedder.encode([question])[0]
        query = VectorStoreQuery(query_embedding=embedding.tolist(), similarity_top_k=n)
        vector_store = ChromaVectorStore(chroma_collection=self.store.collection)
        with self.store.reading():
            if ids is None:
                result = vector_store.query(query, where=where)
            else:
                try:
                    result = vector_store.query(query, ids=ids)
                except Exception:  # Chroma rejects an id deleted since the index was built
                    log.debug("id-filtered vector query failed; filtering by metadata instead", exc_info=True)
                    result = vector_store.query(query, where=where)
        return [
            (chunk_id, float(sim), node.get_content(), dict(node.metadata))
            for chunk_id, sim, node in zip(result.ids or [], result.similarities or [], result.nodes or [], strict=True)
            if not is_retired(node.metadata)
        ]

    def keyword_hits(
        self, question: str, n: int, countries: list[str], count: int | None = None
    ) -> list[tuple[str, float, str, dict]]:
        """(id, BM25 score, text, metadata) of the best keyword matches among chunks mentioning `countries`."""
        index = self._bm25_index(self.store.count() if count is None else count)
        if not index.ids:
            return []
        mask = index.mentions(countries)
        scores = index.scores(question, None if mask is None else mask.astype(np.float32))
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
        top = top[np.argsort(-scores[top])]
        return [(index.ids[i], float(scores[i]), index.texts[i], index.metadatas[i]) for i in top if scores[i] > 0]

    def retrieve(self, question: str, k: int | None = None, countries: list[str] | None = None) -> list[Hit]:
        """Top-k chunks for `question`, optionally only those mentioning `countries` (any of them)."""
        k = k or self.settings.top_k
        count = self.store.count()
        if count == 0:
            raise EmptyStoreError("The store is empty. Run `rag ingest` first.")
        selected = resolve_countries(countries)
        embedding = self.embedder.encode([question])[0]
        index = self._bm25_index(count)
        mentions = index.mentions(selected)
        allowed = None if mentions is None else [index.ids[i] for i in np.flatnonzero(mentions)]
        n = max(self.settings.candidates, k)
        fused: dict[str, float] = {}
        found: dict[str, tuple[str, dict]] = {}
        vector_scores: dict[str, float] = {}
        bm25_scores: dict[str, float] = {}
        for weight, scores, results in (
            (1.0, vector_scores, self.vector_hits(question, n, country_where(selected), embedding, allowed)),
            (self.settings.bm25_weight, bm25_scores, self.keyword_hits(question, n, selected, count)),
        ):
            for rank, (chunk_id, score, text, meta) in enumerate(results):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (self.settings.rrf_k + rank + 1)
                scores[chunk_id] = score
                found[chunk_id] = (text, meta)
        asked = set(find_countries(question))
        if asked and self.settings.country_boost:
            top_share = 1.0 / (self.settings.rrf_k + 1)
            for chunk_id, (_, meta) in found.items():
                mentioned = sum(1 for c in asked if meta.get(country_key(c)))
                fused[chunk_id] += self.settings.country_boost * top_share * mentioned / len(asked)
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)
        sentence_scores: dict[str, float] = {}
        if self.settings.rerank_depth:
            ranked, fused, sentence_scores = self._rerank(
                embedding, ranked[: max(k, self.settings.rerank_depth)], fused, found
            )
        signals = {"vector": vector_scores, "bm25": bm25_scores, "sentence": sentence_scores}
        return [
            _hit(rank, chunk_id, *found[chunk_id], fused[chunk_id], {k_: v.get(chunk_id) for k_, v in signals.items()})
            for rank, chunk_id in enumerate(ranked[:k], start=1)
        ]

    def _rerank(
        self, embedding: np.ndarray, ranked: list[str], fused: dict[str, float], found: dict[str, tuple[str, dict]]
    ) -> tuple[list[str], dict[str, float], dict[str, float]]:
        """Re-order by each chunk's best-matching sentence, keeping some of the fused rank.

        A chunk's single embedding blurs its sentences together; the one sentence that answers
        a question is a sharper signal (bylines and headings under four words don't count).
        Returns the new order, its scores, and each chunk's best sentence similarity.
        """
        sims = [self._sentence_similarities(embedding, *found[c]) for c in ranked]
        low, high = min(fused[c] for c in ranked), max(fused[c] for c in ranked)
        scores, best = {}, {}
        for chunk_id, chunk_sims in zip(ranked, sims, strict=True):
            best[chunk_id] = float(chunk_sims.max()) if len(chunk_sims) else 0.0
            share = (fused[chunk_id] - low) / (high - low) if high > low else 1.0
            scores[chunk_id] = best[chunk_id] + self.settings.rerank_fusion_weight * share
        return sorted(ranked, key=scores.__getitem__, reverse=True), scores, best

    def _sentence_similarities(self, embedding: np.ndarray, text: str, meta: dict) -> np.ndarray:
        """Cosine of the question with each of the chunk's content sentences.

        Ingest stores the sentence vectors with the chunk; a chunk stored before it did has its
        sentences embedded here (cached).
        """
        if SENTENCE_VECTORS in meta:
            return unpack_vectors(str(meta[SENTENCE_VECTORS])) @ embedding
        return self.embedder.encode_cached([text[s:e] for s, e in content_sentences(text)]) @ embedding


def _hit(rank: int, chunk_id: str, text: str, meta: dict, score: float, signals: dict[str, float | None]) -> Hit:
    countries = [c for c in str(meta.get("countries", "")).split("; ") if c]
    page = meta.get("page")
    return Hit(
        rank=rank,
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        date=str(meta.get("date", "")),
        section=str(meta.get("section", "")),
        page=int(page) if page is not None else None,
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        countries=countries,
        score=round(score, 6),
        vector_score=signals["vector"],
        bm25_score=signals["bm25"],
        sentence_score=signals["sentence"],
        metadata=meta,
    )
