"""The facade the UI, the CLI, the API and the eval use: ask/stream, search, countries, ingest, status."""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.countries import country_mentions, find_countries
from rag.answer import ABSTAIN_TEXT, Answer
from rag.answering.abstain import missing_detail, passage_sentences, searchable_text, topic_coverage
from rag.answering.citations import claim_citations
from rag.answering.condense import condense_question
from rag.answering.extractive import MONTH, Extract, Limits, compare, extract_answer
from rag.answering.llm import PIECE, ChatModel, Request, choose_backend, make_chat_model, model_name, model_role
from rag.answering.prompts import build_messages
from rag.answering.shapes import classify, comparison_entities, split_parts
from rag.brief import CountryBrief, country_brief
from rag.errors import QuestionError
from rag.feedback import record_feedback
from rag.overview import corpus_countries
from rag.retrieval.retrieve import Retriever, resolve_countries
from rag.retrieval.scope import QUESTION_WORDS, Scope, quoted_phrases, without_dates, without_scope_words
from rag.settings import Settings
from rag.storage import records
from rag.storage.embeddings import Embedder
from rag.storage.progress import IngestProgress, ProgressFile
from rag.storage.records import Hit, country_where
from rag.storage.store import Store, writer_lock

log = logging.getLogger(__name__)

MAX_K = 50  # passages one search may return

# Capitalised words that are never a name the sources must contain: question words, and months.
NOT_NAMES = QUESTION_WORDS | {month.lower() for month in MONTH.split("|")}
NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z]*[A-Z]?[a-z]*\b")


def proper_names(text: str) -> list[str]:
    """Capitalised words past the start of a sentence that aren't country forms ("FIFA", "Malaysia")."""
    countries = {m.lower() for m in re.findall(r"\w+", " ".join(find_countries(text)))}
    mentions = {text[s:e].lower() for s, e, _ in country_mentions(text)}
    names = []
    for match in NAME.finditer(text):
        word = match.group(0)
        if (
            len(word) >= 3
            and word.lower() not in NOT_NAMES
            and word.lower() not in countries
            and not any(word.lower() in m for m in mentions)
        ):
            names.append(word)
    return names


def check_question(question: str, max_chars: int) -> str:
    """The question with control characters removed; raises QuestionError if unusable."""
    if question is None:
        raise QuestionError("The question is missing. Ask something about the corpus.")
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = "".join(ch for ch in question if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if not cleaned:
        raise QuestionError(
            "The question is empty. Ask something about the corpus, e.g. 'What did Japan pledge to the Philippines?'"
        )
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"The question is {len(cleaned):,} characters long; the limit is {max_chars:,} "
            "(RAG_MAX_QUESTION_CHARS). Shorten it."
        )
    return cleaned


def _merge(groups: list[tuple[str, list[Hit]]]) -> list[Hit]:
    """The passages of every group, each once, in group order: source `n` is position n in this list."""
    seen: dict[str, Hit] = {}
    for _, hits in groups:
        for hit in hits:
            seen.setdefault(hit.chunk_id, hit)
    return list(seen.values())


def dropped_note(count: int) -> str:
    """The note closing an answer some of whose sentences were dropped."""
    what = "1 sentence" if count == 1 else f"{count} sentences"
    return f"{what} of the model's answer dropped: the cited sources don't support {'it' if count == 1 else 'them'}."


def check_names(names: object, what: str) -> list[str] | None:
    """`names` if it is None or a list of non-empty strings; else a QuestionError naming `what`.

    A bare string is refused rather than read as a list of its letters ("Unknown country 'J'").
    """
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, list | tuple):
        raise QuestionError(f'{what} must be a list of names, e.g. ["Japan"]; got {type(names).__name__}.')
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise QuestionError(f'{what} must be a list of non-empty names, e.g. ["Japan"]; got {name!r}.')
    return list(names)


def check_countries(countries: object) -> list[str]:
    """Canonical names for a country filter from a user or a script; raises with a hint when unusable."""
    return resolve_countries(check_names(countries, "countries"))


class Engine:
    """Question -> retrieve -> prompt -> LLM -> checked citations -> Answer."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder, backend: str) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = Retriever(settings, store, embedder)
        self.backend = backend
        self.model = model_name(settings, backend)
        self._chat_model: ChatModel | None = None
        self._chat_model_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self.last_ingest: float | None = None
        self._progress: IngestProgress | None = None  # this process's running ingest
        self._progress_file = ProgressFile(settings.store_dir)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, backend: str | None = None, preload: bool = False
    ) -> Engine:
        """Build the engine the settings describe (store, embeddings, LLM backend).

        `preload` loads the embedding model in the background while the store opens, for a caller about to
        ask: the two overlap (ONNX Runtime builds its session outside the GIL), which shortens a cold start.
        """
        settings = settings or Settings()
        embedder = Embedder.from_settings(settings)
        if preload:
            threading.Thread(target=embedder.load, name="embedder-preload", daemon=True).start()
        return cls(settings, Store(settings), embedder, backend or choose_backend(settings))

    @classmethod
    def for_ingest(cls, settings: Settings, rebuild: bool = False, embedder: Embedder | None = None) -> Engine:
        """An engine to sync the corpus with (no LLM); `rebuild` starts from an empty store, recreating a broken one.

        `embedder` shares one already loaded (the eval syncs several collections with one).
        """
        if rebuild:
            with writer_lock(settings):  # never wipe the store under another process's ingest
                store = Store.empty(settings)
                store.publish()  # readers elsewhere drop what they loaded from the old one
        else:
            store = Store(settings)
        return cls(settings, store, embedder or Embedder.from_settings(settings), "extractive")

    def with_settings(self, settings: Settings, backend: str | None = None) -> Engine:
        """An engine over the same store and embedder that ranks and answers by other settings (eval variants)."""
        return Engine(settings, self.store, self.embedder, backend or choose_backend(settings))

    @property
    def chat_model(self) -> ChatModel:
        """The backend, loaded on first use: commands that never answer (search, status, countries) never load one."""
        with self._chat_model_lock:
            if self._chat_model is None:
                self._chat_model = make_chat_model(self.settings, self.backend)
            return self._chat_model

    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False, progress: bool = False):
        """Sync files into the store and make them searchable at once; returns the IngestReport."""
        from rag.storage.sync import sync

        with self._ingest_lock:
            running = IngestProgress(first=rebuild or self.store.count() == 0)
            self._progress = running
            self._progress_file.write(running, force=True)

            def on_progress(done: int, total: int) -> None:
                running.advance(done, total)
                self._progress_file.write(running, force=done in (0, total))

            try:
                report = sync(
                    self.settings,
                    paths,
                    self.store,
                    self.embedder,
                    rebuild=rebuild,
                    progress=progress,
                    on_progress=on_progress,
                )
                self.retriever.refresh()
            finally:
                self._progress = None
                self._progress_file.clear()
        self.last_ingest = time.time()
        return report

    def indexing(self) -> IngestProgress | None:
        """The ingest running now, in this process or another on the same store; None when there is none."""
        return self._progress or self._progress_file.read_other()

    def _raise_if_first_ingest_runs(self) -> None:
        """IndexingError while the first ingest runs: a half-built store would answer from whatever came first."""
        running = self.indexing()
        if running is not None and running.first:
            raise running.error()

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        countries: list[str] | None = None,
        *,
        docs: list[str] | None = None,
    ) -> Answer:
        """Answer `question` with checked citations (the whole answer at once); `docs` limits the sources."""
        for item in self.stream(question, history, countries, docs=docs):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() always ends with an Answer")

    def stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        countries: list[str] | None = None,
        *,
        docs: list[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text deltas as the answer is written, then the final, checked `Answer`.

        A follow-up is first condensed with the history into a standalone question; that question, not
        the raw follow-up, drives retrieval, the abstention checks, sentence selection, the prompt and
        the citations.

        `docs` (document names or ids, see `rag search --doc`) limits the sources; an unknown name raises
        UnknownDocumentError listing the names that exist.
        """
        started = time.perf_counter()
        question = check_question(question, self.settings.max_question_chars)
        self._raise_if_first_ingest_runs()
        selected = check_countries(countries)
        docs = check_names(docs, "docs")
        query = condense_question(question, history, self.settings.profile.actors)
        scope = self.retriever.scope(query, docs)
        # "Why? <earlier question>" is shaped by what the follow-up asks, not by the question it leans on.
        shape = classify(question if query.startswith(f"{question} ") else query)
        parts = split_parts(query)
        entities = comparison_entities(query) if shape == "comparison" and len(parts) == 1 else []
        groups = self._retrieve_groups(query, shape, parts, entities, selected, docs)
        hits = _merge(groups)
        retrieve_ms = (time.perf_counter() - started) * 1000
        answer = Answer(
            question=question,
            text="",
            citations=[],
            retrieved=hits,
            abstained=False,
            backend=self.backend,
            model=self.model,
            search_query=query,
            shape=shape,
            parts=parts if len(parts) > 1 else [],
            countries=selected,
            docs=list(scope.doc_ids) if scope else [],
            retrieve_ms=round(retrieve_ms, 1),
        )
        if len(entities) >= 2:  # a comparison answers when its passages, all sides together, may answer
            answered = set(range(len(groups)))
            reason = self._abstention(query, hits, scope)
        else:
            reasons = [self._abstention(part, part_hits, scope) for part, part_hits in groups]
            answered = {i for i, why in enumerate(reasons) if why is None}
            reason = None if answered else (reasons[0] if len(reasons) == 1 else ABSTAIN_TEXT)
        if reason is not None:
            answer.text, answer.abstained = reason, True
            yield answer.text
        else:
            request = Request(
                query,
                hits,
                lambda compact: self._messages(query, hits, compact),
                lambda: self._extract(query, shape, entities, groups, answered, hits),
            )
            yield from self._write(answer, request, started)
        if not answer.first_token_ms:
            answer.first_token_ms = round((time.perf_counter() - started) * 1000, 1)
        answer.total_ms = round((time.perf_counter() - started) * 1000, 1)
        yield answer

    def _retrieve_groups(
        self,
        query: str,
        shape: str,
        parts: list[str],
        entities: list[str],
        selected: list[str],
        docs: list[str] | None,
    ) -> list[tuple[str, list[Hit]]]:
        """(question, passages) per part of a multi-part question, per side of a comparison, or just one."""
        if len(entities) >= 2:
            return [(entity, self.retriever.retrieve(query, countries=[entity], docs=docs)) for entity in entities]
        # A list or an overview gathers items across passages, so it reads more of them.
        k = self.settings.top_k * 2 if shape in ("list", "overview") and len(parts) == 1 else None
        return [(part, self.retriever.retrieve(part, k=k, countries=selected, docs=docs)) for part in parts]

    def _extract(
        self,
        query: str,
        shape: str,
        entities: list[str],
        groups: list[tuple[str, list[Hit]]],
        answered: set[int],
        hits: list[Hit],
    ) -> Extract:
        """The extractive answer: per shape, per comparison side, or per part (each part under its question)."""
        number = {h.chunk_id: n for n, h in enumerate(hits, start=1)}
        limits = Limits(
            self.settings.extractive_sentences,
            self.settings.list_max_items,
            self.settings.overview_max_items,
            self.settings.comparison_max_items,
        )
        if len(entities) >= 2:
            numbered = [(number[h.chunk_id], h) for h in hits]
            return compare(query, entities, numbered, self.embedder, limits, self.settings.profile)
        if len(groups) == 1:
            if not answered:
                return Extract("")
            numbered = [(number[h.chunk_id], h) for h in groups[0][1]]
            # "in their January 2023 statement" chose the source; its words are no topic to match sentences on.
            topic = without_dates(query)
            return extract_answer(topic, shape, numbered, self.embedder, limits, self.settings.profile)
        blocks, claims = [], []
        for i, (part, part_hits) in enumerate(groups):
            extract = Extract("")
            if i in answered:
                numbered = [(number[h.chunk_id], h) for h in part_hits]
                extract = extract_answer(part, classify(part), numbered, self.embedder, limits, self.settings.profile)
            blocks.append(f"{part}\n{extract.text if extract.claims else ABSTAIN_TEXT}")
            claims += extract.claims
        return Extract("\n\n".join(blocks), claims) if claims else Extract("")

    def _write(self, answer: Answer, request: Request, started: float) -> Iterator[str]:
        """Stream what the backend writes, a checked sentence at a time, and fill in `answer`.

        Unsupported sentences are dropped (listed in `unsupported_sentences`, counted in a closing note);
        when none survives, the extractive answer stands in at once; a reply that only abstains abstains.
        """
        model = self.chat_model
        gate = model.gate(request, self.embedder, self.settings.support_threshold)
        for delta in model.write(request):
            if not answer.first_token_ms:
                answer.first_token_ms = round((time.perf_counter() - started) * 1000, 1)
            if shown := gate.feed(delta):
                yield shown
            if gate.ended:  # an abstention closed an answer that has supported claims
                break
        if shown := gate.close():
            yield shown
        result = gate.result
        if result.kept:
            answer.text, answer.citations = result.text, result.citations
            answer.unsupported_sentences = result.unsupported
            if result.unsupported:
                answer.note = dropped_note(len(result.unsupported))
                yield f"\n\n({answer.note})"
                answer.text += f"\n\n({answer.note})"
        elif result.abstained:
            answer.text, answer.abstained = ABSTAIN_TEXT, True
            yield answer.text
        else:
            self._stand_in(answer, request.extract, request.hits)
            yield from PIECE.findall(answer.text)

    def _stand_in(self, answer: Answer, extract: Extract, hits: list[Hit]) -> None:
        """Show the extractive answer where no sentence the model wrote is supported, and say so."""
        answer.note = (
            f"The {self.backend} backend ({self.model}) wrote an answer the sources don't support; "
            "showing the source sentences instead."
        )
        log.warning("%s answer unsupported; showing the extractive answer", self.backend)
        if extract.claims:
            answer.text = extract.text
            answer.citations = claim_citations([(c.n, c.start, c.end, c.text) for c in extract.claims], hits)
        else:
            answer.text, answer.abstained = ABSTAIN_TEXT, True

    def _messages(self, query: str, hits: list[Hit], compact: bool) -> list[dict[str, str]]:
        """The prompt for the standalone question over every retrieved passage."""
        return build_messages(query, hits, compact=compact, topic=self.settings.profile.topic)

    def search(
        self, question: str, k: int | None = None, countries: list[str] | None = None, docs: list[str] | None = None
    ) -> list[Hit]:
        """The `k` passages ranked best for `question` (validated like `ask`), optionally filtered like `ask`."""
        question = check_question(question, self.settings.max_question_chars)
        self._raise_if_first_ingest_runs()
        k = self.settings.top_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K}; got {k!r}.")
        selected = check_countries(countries)
        return self.retriever.retrieve(question, k=k, countries=selected, docs=check_names(docs, "docs"))

    def retrieve(
        self, query: str, k: int | None = None, countries: list[str] | None = None, *, method: str = "hybrid"
    ) -> list[Hit]:
        """The top `k` passages for a standalone query, unvalidated (callers are programs: the eval, benchmarks).

        `method` "hybrid" is what `ask` and `search` rank with; "vector" (cosine) and "bm25" are its two
        halves alone, unfused and unboosted.
        """
        k = k or self.settings.top_k
        selected = resolve_countries(countries)
        if method == "vector":
            return self.retriever.vector_hits(query, k, country_where(selected))
        if method == "bm25":
            return self.retriever.keyword_hits(query, k, selected)
        if method != "hybrid":
            raise ValueError(f"unknown retrieval method {method!r}: hybrid, vector or bm25")
        return self.retriever.retrieve(query, k=k, countries=selected)

    @staticmethod
    def condense(question: str, history: list[dict[str, str]] | None, actors: frozenset[str] = frozenset()) -> str:
        """The standalone question a follow-up asks, given the conversation (what `ask` retrieves for).

        `actors` are the corpus profile's (`settings.profile.actors`), as `ask` uses them.
        """
        return condense_question(question, history, actors)

    def chunk_texts(self) -> list[str]:
        """The text of every stored chunk."""
        return [r["document"] for r in self.store.iter_records(include=("documents",))]

    def build_index(self) -> None:
        """Load or build the keyword index now rather than on the first question (it is saved next to the store)."""
        self.retriever.build_index()

    def countries(self) -> list[tuple[str, int]]:
        """(country or grouping, chunks mentioning it) for the whole store, most mentioned first."""
        return corpus_countries(self.store)

    def country_brief(self, country: str) -> CountryBrief:
        """What the corpus says about `country`, every line cited (rag/brief.py); raises UnknownCountryError."""
        self.store.follow()  # another process may have ingested since
        return country_brief(self.store, country)

    def record_feedback(
        self,
        answer: Answer | dict[str, Any],
        rating: str,
        history: list[dict[str, str]] | None = None,
        comment: str = "",
    ) -> dict[str, Any]:
        """Append a thumbs up/down on `answer` to RAG_FEEDBACK_FILE (rag/feedback.py); returns the stored line."""
        return record_feedback(self.settings.feedback_file, answer, rating, history, comment)

    def documents(self) -> dict[str, dict]:
        """doc_id -> metadata (title, author, date, ...) of every stored document; {} for an empty store."""
        return self.retriever.documents() if self.store.count() else {}

    def chunk_count(self) -> int:
        """Chunks in the store now (it grows while an ingest runs)."""
        return self.store.count()

    def warm_up(self) -> None:
        """Load the embedding model and the keyword index now rather than on the first question."""
        self.retriever.retrieve("warm-up", k=1)

    def _abstention(self, query: str, hits: list[Hit], scope: Scope | None = None) -> str | None:
        """What to say instead of answering, or None when the passages may answer.

        Abstain when no passage is close enough (no sentence similar enough, none holding a quoted phrase
        of the question, none holding the whole topic), when a country or name the question asks about appears in none
        (titles and bylines included), or when the question asks for a detail (a date, an amount...) that
        no sentence on its topic gives.
        """
        if not hits:
            return ABSTAIN_TEXT
        sentences, similarity = passage_sentences(hits, self.embedder.encode_cached([query])[0])
        topic = without_scope_words(query)
        coverage, topic_terms = topic_coverage(sentences, topic, self.retriever.idf(topic), self.retriever.stem)
        relevance = [h.sentence_score if h.sentence_score is not None else h.vector_score for h in hits]
        close = max(r or 0.0 for r in relevance) >= self.settings.abstain_below
        # One sentence holding every term of the topic; a one-word topic only within a source the user named.
        whole_topic = topic_terms >= (1 if scope else 2) and float(coverage.max(initial=0.0)) >= 1.0
        quoted = set(quoted_phrases(query))
        if not (close or whole_topic or any(h.exact in quoted for h in hits if h.exact)):
            return ABSTAIN_TEXT
        mentioned = {c for h in hits for c in h.countries}
        if any(c not in mentioned for c in find_countries(query)):
            return ABSTAIN_TEXT
        passages = " ".join(searchable_text(h) for h in hits).lower()
        if any(name.lower() not in passages for name in proper_names(query)):
            return ABSTAIN_TEXT
        if self.settings.detail_check:
            on_topic = (coverage >= self.settings.topic_coverage) | (similarity >= self.settings.topic_similarity)
            if (detail := missing_detail(query, sentences, on_topic)) is not None:
                return f"The sources don't give {detail.name}."
        return None

    def status(self) -> dict[str, object]:
        """Backend, model, store, corpus size and last ingest, for a status line (never secrets)."""
        self.store.follow()  # another process may have ingested since
        docs = {records.doc_id(r["id"], r["metadata"]) for r in self.store.iter_records()}
        running = self.indexing()
        return {
            "backend": self.backend,
            "model": self.model,
            "model_role": model_role(self.settings, self.backend),
            "store": (
                f"Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port}"
                if self.settings.chroma_host
                else str(self.settings.store_dir)
            ),
            "documents": len(docs),
            "chunks": self.store.count(),
            "last_ingest": self.last_ingest or self._store_written_at(),
            "indexing": None if running is None else running.as_dict(),
        }

    def _store_written_at(self) -> float | None:
        """When the embedded store's database was last written (an ingest by any process); None for a server."""
        database = self.settings.store_dir / "chroma.sqlite3"
        if self.settings.chroma_host or not database.exists():
            return None
        return max(path.stat().st_mtime for path in database.parent.glob("chroma.sqlite3*"))
