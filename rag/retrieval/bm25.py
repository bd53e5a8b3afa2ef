"""BM25 over every stored chunk, saved next to the store and keyed by the store's generation.

A fresh process loads the saved index (memory-mapped) in milliseconds instead of reading every
record back and re-tokenising; it is rebuilt only when the store's generation changes, which
every finished write bumps (see `Store.publish`), whichever process made it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import Chunk
from rag.retrieval.scope import QUESTION_WORDS
from rag.retrieval.wording import Vocabulary
from rag.retrieval.wording import function_words as stop_words
from rag.storage import records
from rag.storage.store import Store

log = logging.getLogger(__name__)

FORMAT = 5  # bump when what is saved changes
CHUNKS_FILE = "chunks.json"


def index_text(chunk: Chunk) -> str:
    """What BM25 indexes: the chunk with its document's title, byline, publisher and date."""
    return "\n".join([*(f for f in records.keyword_fields(chunk) if f), chunk.text])


def _stemmer() -> Any:
    import Stemmer

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it forces DEBUG on itself
    return Stemmer.Stemmer("english")


class Bm25Index:
    """Chunk ids, their countries and documents, and a bm25s model; chunk texts and metadata stay in the store."""

    def __init__(
        self,
        generation: str,
        ids: list[str],
        countries: list[str],
        doc_ids: list[str],
        documents: dict[str, dict],
        model: Any | None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.generation = generation
        self.ids = ids
        self.countries = countries  # per chunk, "A; B" as in its metadata
        self.doc_ids = np.array(doc_ids, dtype=object)
        self.documents = documents  # doc_id -> its document fields (title, author, kind...)
        self.model = model  # None for an empty store: bm25s can't index nothing
        self._stop_stems: frozenset[str] | None = None
        self.vocabulary = vocabulary or Vocabulary()  # the corpus's words, to map a question's wording onto
        self._stemmer = _stemmer()
        self._flags: dict[str, np.ndarray] = {}  # country -> which chunks mention it

    @classmethod
    def open(cls, store: Store) -> Bm25Index:
        """The index of the store's current generation: the saved one, or built from the store and saved."""
        generation = store.generation
        folder = index_folder(store, generation)
        if folder.is_dir():
            try:
                return cls.load(folder, generation)
            except (OSError, ValueError, KeyError) as exc:  # half-deleted by a newer writer, or damaged
                log.warning("saved BM25 index at %s unusable (%s); rebuilding", folder, exc)
        index = cls.build(store, generation)
        try:
            index.save(folder)
        except OSError as exc:  # a read-only store still answers; the next process rebuilds too
            log.warning("could not save the BM25 index to %s: %s", folder, exc)
        return index

    @classmethod
    def build(cls, store: Store, generation: str) -> Bm25Index:
        """Read every chunk back from the store and index it."""
        import bm25s

        ids, countries, doc_ids, corpus = [], [], [], []
        documents: dict[str, dict] = {}
        for chunk in store.chunks():
            ids.append(chunk.chunk_id)
            countries.append("; ".join(chunk.countries))
            doc_ids.append(chunk.doc_id)
            documents.setdefault(chunk.doc_id, chunk.metadata)
            corpus.append(index_text(chunk))
        vocabulary = Vocabulary.from_texts(corpus)
        model = None
        if ids:
            model = bm25s.BM25()
            tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=_stemmer(), show_progress=False)
            model.index(tokens, show_progress=False)
        return cls(generation, ids, countries, doc_ids, documents, model, vocabulary)

    def save(self, folder: Path) -> None:
        """Write the index to `folder` atomically (a temporary folder renamed into place), then drop older ones."""
        partial = folder.with_name(f".{folder.name}.{os.getpid()}.part")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(partial), show_progress=False)
        chunks = {
            "format": FORMAT,
            "generation": self.generation,
            "ids": self.ids,
            "countries": self.countries,
            "doc_ids": self.doc_ids.tolist(),
            "documents": self.documents,
            "vocabulary": self.vocabulary.as_json(),
        }
        (partial / CHUNKS_FILE).write_text(json.dumps(chunks), encoding="utf-8")
        try:
            partial.rename(folder)
        except OSError:  # another process saved the same generation first: theirs is as good
            shutil.rmtree(partial, ignore_errors=True)
        # Older generations of this collection; a process still reading one keeps its mapped files.
        prefix = folder.name.rsplit("-", 1)[0]
        for old in folder.parent.glob(f"{prefix}-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, generation: str) -> Bm25Index:
        """A saved index, its score matrix memory-mapped."""
        import bm25s

        chunks = json.loads((folder / CHUNKS_FILE).read_text(encoding="utf-8"))
        if chunks.get("format") != FORMAT or chunks["generation"] != generation:
            raise ValueError("saved for another format or generation")
        model = None
        if chunks["ids"]:
            model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        vocabulary = Vocabulary.from_json(chunks["vocabulary"])
        return cls(
            generation, chunks["ids"], chunks["countries"], chunks["doc_ids"], chunks["documents"], model, vocabulary
        )

    def mentions(self, countries: list[str]) -> np.ndarray | None:
        """Which chunks mention any of `countries`, as a boolean mask (None: no filter)."""
        if not countries:
            return None
        for country in countries:
            if country not in self._flags:  # one pass over the chunks per country, then reused
                self._flags[country] = np.fromiter(
                    (country in c.split("; ") for c in self.countries), bool, len(self.ids)
                )
        return np.logical_or.reduce([self._flags[c] for c in countries])

    def in_documents(self, doc_ids: tuple[str, ...] | None) -> np.ndarray | None:
        """Which chunks belong to `doc_ids`, as a boolean mask (None: no filter)."""
        return None if doc_ids is None else np.isin(self.doc_ids, list(doc_ids))

    def idf(self, question: str) -> dict[str, float]:
        """BM25's inverse document frequency of each of the question's (stemmed, stopword-free) terms.

        A term no chunk contains gets the largest weight: it is the most specific thing asked.
        """
        import bm25s

        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        terms = list(dict.fromkeys(tokens[0])) if tokens else []
        n = len(self.ids)
        indptr = self.model.scores["indptr"] if self.model is not None else None
        weights = {}
        for term in terms:
            token = self.model.vocab_dict.get(term) if self.model is not None else None
            df = int(indptr[token + 1] - indptr[token]) if token is not None else 0
            weights[term] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return weights

    def unknown_terms(self, question: str, function_words: bool = False) -> list[str]:
        """The question's topic terms (`topic_weights`) that no chunk contains: "whaling" in this corpus.

        With `function_words`, a stop word of a standard English list ("much") is never one: it names no topic.
        """
        vocab = self.model.vocab_dict if self.model is not None else {}
        indptr = self.model.scores["indptr"] if self.model is not None else None
        ignored = self._stemmed_stop_words() if function_words else frozenset()
        unknown = []
        for term in self.topic_weights(question):
            if term in ignored:
                continue
            token = vocab.get(term)
            if token is None or indptr is None or indptr[token + 1] == indptr[token]:
                unknown.append(term)
        return unknown

    def share_a_chunk(self, terms: list[str]) -> bool:
        """Whether one chunk contains every stemmed term of `terms` (each in some chunk or not)."""
        if self.model is None:
            return False
        vocab, indptr, indices = self.model.vocab_dict, self.model.scores["indptr"], self.model.scores["indices"]
        shared: set[int] | None = None
        for term in terms:
            token = vocab.get(term)
            found = set() if token is None else set(indices[indptr[token] : indptr[token + 1]].tolist())
            shared = found if shared is None else shared & found
            if not shared:
                return False
        return True

    def _stemmed_stop_words(self) -> frozenset[str]:
        """The stems of the stop words, made once per index (every abstention check asks)."""
        if self._stop_stems is None:
            self._stop_stems = frozenset(self.stem(sorted(stop_words())))
        return self._stop_stems

    def topic_weights(self, question: str) -> dict[str, float]:
        """`idf(question)` less the words that only say how it asks ("what", "did", "say")."""
        asking = set(self.stem(sorted(QUESTION_WORDS)))
        return {t: w for t, w in self.idf(question).items() if t not in asking}

    def stem(self, words: list[str]) -> list[str]:
        """The stems BM25 indexes for `words` (lower-cased)."""
        return self._stemmer.stemWords([w.lower() for w in words])

    def scores(self, question: str, mask: np.ndarray | None) -> np.ndarray:
        """BM25 score of every chunk for `question` (0 where `mask` is 0)."""
        import bm25s

        if self.model is None:
            return np.zeros(0, dtype=np.float32)
        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False
        )
        ids = self.model.get_tokens_ids(tokens[0]) if tokens and tokens[0] else []
        if not ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self.model.get_scores_from_ids(ids, weight_mask=mask)


def index_folder(store: Store, generation: str) -> Path:
    """Where the index of `generation` is saved: beside the store, one folder per collection and generation."""
    collection = generation.split(":", 1)[0]
    digest = hashlib.sha256(generation.encode()).hexdigest()[:16]
    return store.settings.store_dir / "bm25" / f"{collection}-{digest}"
