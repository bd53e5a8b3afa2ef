"""Hybrid retrieval: Chroma vectors + BM25, fused by reciprocal rank, with country filter and boost."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ingest.chunking import content_sentences
from ingest.countries import canonical_country, find_countries
from rag.errors import EmptyStoreError, StoreError, UnknownCountryError
from rag.retrieval.bm25 import Bm25Index
from rag.retrieval.named_document import named_document
from rag.retrieval.scope import Scope, asked_dates, exact_matches, find_scope, quoted_phrases, scope_rules
from rag.retrieval.sides import article_against_countries, by_title_countries
from rag.retrieval.wording import corpus_names
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit, country_where
from rag.storage.store import Store

TOKEN = re.compile(r"\w\w+")  # BM25's tokens


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


SENTENCE_TERMS_CACHE = 20_000  # chunk texts; a few KB each


class Retriever:
    """Ranks stored chunks for a question. Thread-safe; follows the store as other processes change it."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._bm25: Bm25Index | None = None
        self._lock = threading.Lock()
        # chunk text -> each content sentence's stemmed terms: the re-rank reads the same passages again and again.
        self._sentence_terms: dict[str, list[frozenset[str]]] = {}
        self._sentence_terms_lock = threading.Lock()  # the UI's request threads share it

    def refresh(self) -> None:
        """Forget the BM25 index so the next query loads or rebuilds it."""
        with self._lock:
            self._bm25 = None

    def build_index(self) -> None:
        """Load or build the BM25 index now instead of on the first question (start-up warm-up, benchmarks)."""
        self._bm25_index()

    def _bm25_index(self) -> Bm25Index:
        """The BM25 index of the store's current generation: the one in memory, the saved one, or a new one."""
        with self._lock:
            if self._bm25 is None or self._bm25.generation != self.store.generation:
                self._bm25 = Bm25Index.open(self.store)
            return self._bm25

    def vector_hits(
        self,
        question: str,
        n: int,
        where: dict | None,
        embedding: np.ndarray | None = None,
        ids: list[str] | None = None,
    ) -> list[Hit]:
        """The nearest chunks, best first, scored exp(-distance): the vector half of the hybrid.

        `ids` (the chunks `where` selects, known from the BM25 index) narrows faster than `where`.

        Chroma doesn't index boolean metadata, so a `where` on a country flag scans every chunk's
        metadata rows: ~130 ms a query at 100k chunks, against ~20 ms for the same search by id list.
        """
        if ids is not None and not ids:
            return []
        if embedding is None:
            embedding = self.embedder.encode([question])[0]
        # Chroma directly, not through llama-index's ChromaVectorStore: importing llama_index.core costs
        # ~1.8 s, most of a cold `rag ask` (see README, "llama-index").
        found = self.store.query(embedding, n, where, ids)
        # exp(-distance), as llama-index scored it: the abstention threshold was tuned on this scale.
        scored = [(chunk, math.exp(-distance)) for chunk, distance in found]
        return [Hit(chunk, rank, round(sim, 6), vector_score=sim) for rank, (chunk, sim) in enumerate(scored, start=1)]

    def keyword_hits(
        self, question: str, n: int, countries: list[str], doc_ids: tuple[str, ...] | None = None
    ) -> list[Hit]:
        """The best keyword matches among chunks mentioning `countries`, best first, scored by BM25.

        `doc_ids` keeps only those documents' chunks.
        """
        index = self._bm25_index()
        if not index.ids:
            return []
        mask = _both(index.mentions(countries), index.in_documents(doc_ids))
        scores = index.scores(question, None if mask is None else mask.astype(np.float32))
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
        top = [int(i) for i in top[np.argsort(-scores[top])] if scores[i] > 0]
        # Texts and metadata come from the store: the index keeps only ids, so it loads in no time.
        found = self.store.get([index.ids[i] for i in top])
        kept = [i for i in top if index.ids[i] in found]
        return [
            Hit(found[index.ids[i]], rank, round(float(scores[i]), 6), bm25_score=float(scores[i]))
            for rank, i in enumerate(kept, start=1)
        ]

    def documents(self) -> dict[str, dict]:
        """doc_id -> metadata (title, author, publisher, date, kind) of every stored document."""
        return self._bm25_index().documents

    def scope(self, question: str, docs: list[str] | None = None) -> Scope | None:
        """The documents a question is limited to: `docs` (names or ids) if given, else what the question says."""
        if docs and not self.store.count():
            raise EmptyStoreError("The store is empty. Run `rag ingest` first.")
        rules = scope_rules(self.settings.profile)
        documents = self.documents()
        named = named_document(question, documents) if self.settings.named_document and not docs else None

        found = find_scope(
            question,
            docs,
            documents,
            rules,
            self.settings.source_scope,
            self.settings.compare_sources,
            self.settings.article_named,
            per_side=self.settings.source_per_side,
            named_document=named,
            topic_label=self.settings.topic_label,
            year_sides=self.settings.year_sides,
            article_sides=self.settings.article_sides,
        )
        if self.settings.side_title_countries:
            found = by_title_countries(question, found, documents)
        if self.settings.article_sides:
            found = article_against_countries(question, found, documents)
        return found

    def idf(self, question: str) -> dict[str, float]:
        """BM25's inverse document frequency of each of the question's stemmed terms."""
        return self._bm25_index().idf(question)

    def unknown_terms(self, question: str) -> list[str]:
        """The question's stemmed terms that no chunk contains."""
        return self._bm25_index().unknown_terms(question, self.settings.function_words_known)

    def names_apart(self, question: str) -> list[str]:
        """The question's corpus names (`corpus_names`), when there are two or more and no chunk holds them all.

        "What did Modi say about Ream Naval Base?": the sources name both, never together, so they don't say it.
        """
        index = self._bm25_index()
        names = corpus_names(question, index.vocabulary)
        stems = list(dict.fromkeys(index.stem(names)))
        return names if len(stems) >= 2 and not index.share_a_chunk(stems) else []

    def names_only(self, phrase: str) -> bool:
        """Whether the corpus writes every word of `phrase` capitalised only, as a name ("natasha agarwal")."""
        vocabulary = self._bm25_index().vocabulary
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", phrase)]
        return bool(words) and all(w in vocabulary.words and w not in vocabulary.lowercase for w in words)

    def stem(self, words: list[str]) -> list[str]:
        """The stems BM25 uses for `words`."""
        return self._bm25_index().stem(words)

    def lowercase_words(self) -> set[str]:
        """The words the corpus also writes in lower case: a name made only of other words names a person or place."""
        return self._bm25_index().vocabulary.lowercase

    def in_corpus_words(self, text: str) -> str:
        """`text` with spelling variants, typos in names and abbreviated months mapped onto the corpus's words."""
        return self._bm25_index().vocabulary.normalize(
            text,
            lone_codes=self.settings.lone_country_codes,
            real_words=self.settings.real_words_kept,
        )

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        countries: list[str] | None = None,
        docs: list[str] | None = None,
        prefer: Mapping[str, float] | None = None,
    ) -> list[Hit]:
        """Top-k chunks for `question`, optionally only those mentioning `countries` (any of them).

        `docs` (document names or ids) limits the search to those documents; without it, a question that
        names its source ("the article", "the White House", a title) is limited to that source.
        The engine, which has worked out the countries and the scope already, calls `rank`.
        """
        self.store.follow()
        return self.rank(question, k, resolve_countries(countries), self.scope(question, docs), prefer)

    def rank(
        self,
        question: str,
        k: int | None,
        countries: list[str],
        scope: Scope | None,
        prefer: Mapping[str, float] | None = None,
    ) -> list[Hit]:
        """Top-k chunks for `question` among those mentioning `countries` (canonical names) within `scope`.

        Chunks holding a quoted phrase of the question rank first; those holding a rare n-gram of it
        keep a place in the top k. `prefer` (doc_id -> weight in 0..1, the conversation's documents) adds
        `conversation_boost` x weight to those documents' chunks: a boost, so a stronger match elsewhere wins.
        Picks up changes another process made to the store first (checked at most once a second).
        A failed read is tried once more on a freshly opened store: it may have been opened mid-write.
        """
        self.store.follow()
        try:
            return self._retrieve(question, k, countries, scope, prefer or {})
        except StoreError:
            if not self.store.follow(force=True):
                raise
            return self._retrieve(question, k, countries, scope, prefer or {})

    def _retrieve(
        self, question: str, k: int | None, selected: list[str], scope: Scope | None, prefer: Mapping[str, float]
    ) -> list[Hit]:
        k = k or self.settings.top_k
        count = self.store.count()
        if count == 0:
            raise EmptyStoreError("The store is empty. Run `rag ingest` first.")
        index = self._bm25_index()
        doc_ids = scope.doc_ids if scope else None
        embedding = self.embedder.encode([question])[0]
        mask = _both(index.mentions(selected), index.in_documents(doc_ids))
        allowed = None if mask is None else [index.ids[i] for i in np.flatnonzero(mask)]
        n = max(self.settings.candidates, k)
        fused: dict[str, float] = {}
        hits: dict[str, Hit] = {}  # chunk id -> the hit, with its vector and bm25 scores where measured
        keyword = self.keyword_hits(question, n, selected, doc_ids)
        exact = exact_matches(
            question, [(h.chunk_id, h.text) for h in keyword], self.settings.rare_ngram, self.settings.rare_name
        )
        vector = self.vector_hits(question, n, country_where(selected, doc_ids), embedding, allowed)
        for weight, results in ((1.0, vector), (self.settings.bm25_weight, keyword)):
            for rank, h in enumerate(results):
                fused[h.chunk_id] = fused.get(h.chunk_id, 0.0) + weight / (self.settings.rrf_k + rank + 1)
                seen = hits.get(h.chunk_id)
                hits[h.chunk_id] = h if seen is None else replace(h, vector_score=seen.vector_score)
        top_share = 1.0 / (self.settings.rrf_k + 1)  # what the top rank of one list adds; boosts are shares of it
        if prefer and doc_ids is None:
            self._add_preferred(question, n, selected, prefer, embedding, index, fused, hits)
        asked = set(find_countries(question))
        if asked and self.settings.country_boost:
            for chunk_id, h in hits.items():
                mentioned = sum(1 for c in asked if c in h.chunk.countries)
                fused[chunk_id] += self.settings.country_boost * top_share * mentioned / len(asked)
        months = [d for d in asked_dates(question) if len(d) == 7]
        if months and self.settings.date_boost:
            # "their January 2023 statement": the documents of that month, as a named country is boosted.
            for chunk_id, h in hits.items():
                if h.date.startswith(tuple(months)):
                    fused[chunk_id] += self.settings.date_boost * top_share
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)
        sentence_scores: dict[str, float] = {}
        if self.settings.rerank_depth and ranked:  # none: every candidate was deleted since the index was built
            depth = max(k, self.settings.rerank_depth)
            ranked, fused, sentence_scores = self._rerank(
                question, embedding, ranked[:depth] + [c for c in ranked[depth:] if c in exact], fused, hits, index
            )
            if prefer and self.settings.conversation_boost:
                # After the re-rank too: its sentence scores would otherwise wash the fused boost out.
                for chunk_id in ranked:
                    fused[chunk_id] += self.settings.conversation_boost * prefer.get(hits[chunk_id].doc_id, 0.0)
                ranked = sorted(ranked, key=fused.__getitem__, reverse=True)
        ranked = keep_exact(ranked, exact, quoted_phrases(question), k)
        return [
            replace(
                hits[chunk_id],
                rank=rank,
                score=round(fused[chunk_id], 6),
                sentence_score=sentence_scores.get(chunk_id),
                exact=exact.get(chunk_id),
            )
            for rank, chunk_id in enumerate(ranked[:k], start=1)
        ]

    def _add_preferred(
        self,
        question: str,
        n: int,
        selected: list[str],
        prefer: Mapping[str, float],
        embedding: np.ndarray,
        index: Bm25Index,
        fused: dict[str, float],
        hits: dict[str, Hit],
    ) -> None:
        """Fold the preferred documents' best matches into the candidates, and boost their chunks' fused score.

        A follow-up's own words may rank the conversation's passage below the cut ("who's hosting the next
        one?"); one found only there enters as if ranked just past the cut, then takes the boost.
        """
        docs = tuple(prefer)
        mask = _both(index.mentions(selected), index.in_documents(docs))
        allowed = None if mask is None else [index.ids[i] for i in np.flatnonzero(mask)]
        vector = self.vector_hits(question, n, country_where(selected, docs), embedding, allowed)
        keyword = self.keyword_hits(question, n, selected, docs)
        for weight, results in ((1.0, vector), (self.settings.bm25_weight, keyword)):
            for h in results:
                if h.chunk_id not in hits:
                    hits[h.chunk_id] = h
                    fused[h.chunk_id] = weight / (self.settings.rrf_k + n + 1)
        top_share = 1.0 / (self.settings.rrf_k + 1)
        for chunk_id, h in hits.items():
            fused[chunk_id] += top_share * prefer.get(h.doc_id, 0.0)

    def _rerank(
        self,
        question: str,
        embedding: np.ndarray,
        ranked: list[str],
        fused: dict[str, float],
        hits: dict[str, Hit],
        index: Bm25Index,
    ) -> tuple[list[str], dict[str, float], dict[str, float]]:
        """Re-order by each chunk's best-matching sentence, keeping some of the fused rank.

        A chunk's single embedding blurs its sentences together; the one sentence that answers
        a question is a sharper signal (bylines and headings under four words don't count). A sentence
        scores its similarity plus, weighted, the share of the question's rarer terms it contains.
        Returns the new order, its scores, and each chunk's best sentence similarity.
        """
        weights = index.topic_weights(question) if self.settings.rerank_term_weight else {}
        total = sum(weights.values())
        low, high = min(fused[c] for c in ranked), max(fused[c] for c in ranked)
        scores, best = {}, {}
        for chunk_id in ranked:
            text = hits[chunk_id].text
            sims = self._sentence_similarities(embedding, hits[chunk_id])
            best[chunk_id] = float(sims.max()) if len(sims) else 0.0
            if total and len(sims):
                terms = self._terms_of_sentences(text, index)
                sims = sims + self.settings.rerank_term_weight * np.array(
                    [sum(w for t, w in weights.items() if t in held) / total for held in terms]
                )
            share = (fused[chunk_id] - low) / (high - low) if high > low else 1.0
            scores[chunk_id] = (float(sims.max()) if len(sims) else 0.0) + self.settings.rerank_fusion_weight * share
        return sorted(ranked, key=scores.__getitem__, reverse=True), scores, best

    def _terms_of_sentences(self, text: str, index: Bm25Index) -> list[frozenset[str]]:
        """Each content sentence's stemmed terms, remembered for the last SENTENCE_TERMS_CACHE chunk texts."""
        terms = self._sentence_terms.get(text)
        if terms is None:
            terms = [frozenset(index.stem(TOKEN.findall(text[s:e].lower()))) for s, e in content_sentences(text)]
            with self._sentence_terms_lock:
                if len(self._sentence_terms) >= SENTENCE_TERMS_CACHE:
                    del self._sentence_terms[next(iter(self._sentence_terms))]  # the oldest: dicts keep insertion order
                self._sentence_terms[text] = terms
        return terms

    def _sentence_similarities(self, embedding: np.ndarray, hit: Hit) -> np.ndarray:
        """Cosine of the question with each of the chunk's content sentences.

        Ingest stores the sentence vectors with the chunk; a chunk stored before it did has its
        sentences embedded here (cached).
        """
        vectors = hit.sentence_vectors
        if vectors is not None:
            return vectors @ embedding
        text = hit.text
        return self.embedder.encode_cached([text[s:e] for s, e in content_sentences(text)]) @ embedding


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The chunks both masks keep (None: no filter)."""
    return b if a is None else a if b is None else a & b


def keep_exact(ranked: list[str], exact: dict[str, str], quoted: list[str], k: int) -> list[str]:
    """`ranked` with exact matches kept in the top k: a quoted phrase's chunks first, a rare n-gram's anywhere above k.

    What the user put in quotes outranks any similarity. A rare n-gram is weaker evidence (a name can
    be rare and still beside the point), so its chunk only keeps a place in the top k, displacing the
    lowest-ranked others, and fusion and re-rank still decide its order there.
    """
    quoted_set = set(quoted)
    first = [c for c in ranked if exact.get(c) in quoted_set]
    rest = [c for c in ranked if c not in first]
    room = max(k - len(first), 0)
    rare = [c for c in rest if c in exact][:room]
    top = set(rare) | set([c for c in rest if c not in exact][: room - len(rare)])
    return first + [c for c in rest if c in top] + [c for c in rest if c not in top]
