"""The facade the UI, the CLI, the API and the eval use: ask/stream, search, countries, ingest, status."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.answer import ABSTAIN_TEXT, Answer
from rag.answering.abstain import abstention
from rag.answering.condense import Rules, condense_question, earlier_question, glued, names_new
from rag.answering.details import Dating, asked_details
from rag.answering.extractive import (
    ASKS_AUTHOR,
    Extract,
    Limits,
    compare,
    extract_answer,
    focus_document,
    shared_terms,
    without_repeats,
)
from rag.answering.later_sources import is_later, later_note
from rag.answering.llm import PIECE, ChatModel, Request, choose_backend, make_chat_model, model_name, model_role
from rag.answering.prompts import build_messages
from rag.answering.shapes import classify
from rag.brief import CountryBrief, country_brief
from rag.errors import QuestionError
from rag.feedback import record_feedback
from rag.overview import corpus_countries
from rag.query import Query, build_query
from rag.retrieval.conversation import cited_documents, conversation_documents
from rag.retrieval.retrieve import Retriever, resolve_countries
from rag.retrieval.scope import Scope, without_dates
from rag.retrieval.wording import with_country_names
from rag.settings import Settings
from rag.storage import records
from rag.storage.embed_cache import embed_cache_status
from rag.storage.embeddings import Embedder
from rag.storage.progress import IngestProgress, ProgressFile
from rag.storage.records import Hit, country_where, title
from rag.storage.store import Store, writer_lock

log = logging.getLogger(__name__)

MAX_K = 50  # passages one search may return
CONVERSATION_DOCS = 3  # an earlier question's top passages that name the documents a conversation is about


def dropped_note(count: int) -> str:
    """The note closing an answer some of whose sentences were dropped."""
    what = "1 sentence" if count == 1 else f"{count} sentences"
    return f"{what} of the model's answer dropped: the cited sources don't support {'it' if count == 1 else 'them'}."


# A figure in a sentence ("600", "1.5"), and a year, which is no figure of its own.
FIGURE = re.compile(r"\b\d[\d,.]*\d\b")  # two digits or more: a lone digit is in every date
YEAR = re.compile(r"(19|20)\d\d")


def _merge(groups: list[tuple[str, list[Hit]]]) -> list[Hit]:
    """The passages of every group, each once, in group order: source `n` is position n in this list."""
    seen: dict[str, Hit] = {}
    for _, hits in groups:
        for hit in hits:
            seen.setdefault(hit.chunk_id, hit)
    return list(seen.values())


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
        """The LLM, loaded on first use: commands that never generate (search, status, countries) never load one."""
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
            if self._progress_file.read_other() is None:  # never over a running ingest's figures: it owns the file
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
        """The ingest running now, in this process or another on the same store; None when there is none.

        While this process's own ingest has no count yet (it reads the files, or waits for another process's
        ingest to let go of the writer lock), the other process's count is the one worth showing.
        """
        own = self._progress
        if own is not None and own.total:
            return own
        return self._progress_file.read_other() or own

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
        self._raise_if_first_ingest_runs()
        asked = self.query(question, history, countries, docs=docs)
        query, shape, parts, entities, scope = asked.standalone, asked.shape, asked.parts, asked.entities, asked.scope
        groups = self._retrieve_groups(asked)
        hits = _merge(groups)
        retrieve_ms = (time.perf_counter() - started) * 1000
        answer = Answer(
            question=asked.question,
            text="",
            citations=[],
            retrieved=hits,
            abstained=False,
            backend=self.backend,
            model=self.model,
            search_query=query,
            shape=shape,
            parts=parts if len(parts) > 1 else [],
            countries=asked.countries,
            docs=list(scope.doc_ids) if scope else [],
            conversation_docs=dict(asked.prefer),
            retrieve_ms=round(retrieve_ms, 1),
        )
        sources = self._source_sides(asked)
        if len(entities) >= 2 or sources:  # a comparison answers when its passages, all sides together, may answer
            answered = set(range(len(groups)))
            reason = self._abstention(query, False, hits, scope, sides=True)
        else:
            reasons = [
                self._abstention(part, self._continues(asked, part, part_hits), part_hits, scope)
                for part, part_hits in groups
            ]
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
                lambda: self._extract(
                    self._read_with(asked, groups),
                    shape,
                    entities,
                    groups,
                    answered,
                    hits,
                    bool(sources),
                    asked.turn if self.settings.followup_own_words else "",
                ),
            )
            yield from self._write(answer, request, started)
            if note := self._later_note(answer):
                answer.text += f"\n\n{note}"
                yield f"\n\n{note}"
        if not answer.first_token_ms:
            answer.first_token_ms = round((time.perf_counter() - started) * 1000, 1)
        answer.total_ms = round((time.perf_counter() - started) * 1000, 1)
        yield answer

    def query(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        countries: list[str] | None = None,
        *,
        docs: list[str] | None = None,
    ) -> Query:
        """The validated `Query` for a question (rag/query.py); raises QuestionError and the like with a hint."""
        self.store.follow()  # the scope reads the stored documents: another process may have ingested since
        asked = build_query(
            question,
            history,
            countries,
            docs,
            max_chars=self.settings.max_question_chars,
            profile=self.settings.profile,
            find_scope=self.retriever.scope,
            in_corpus_words=self._in_corpus_words,
            standalone_of=self._standalone,
            in_context_of=(lambda q, h: self._standalone(q, h, glue=True)) if self.settings.conversation else None,
            compare_sources=self.settings.compare_sources,
            open_what=self.settings.open_what,
            overview_asks=self.settings.overview_asks,
            part_and=self.settings.part_and,
            part_subject=self.settings.part_subject,
        )
        if not history:
            return asked
        prefer: dict[str, float] = {}
        if self.settings.conversation:
            prefer = conversation_documents(
                history, lambda text: self.retriever.rank(text, None, asked.countries, None)
            )
        if self.settings.followup_cited:
            for doc_id, weight in cited_documents(history, self.documents()).items():
                prefer[doc_id] = max(weight, prefer.get(doc_id, 0.0))
        return replace(asked, prefer=prefer) if prefer else asked

    def _in_corpus_words(self, text: str) -> str:
        """`text` in the corpus's spelling (`match_wording`), its capitals followed by their countries
        (`name_countries`)."""
        if self.settings.match_wording:
            text = self.retriever.in_corpus_words(text)
        return with_country_names(text) if self.settings.name_countries else text

    def _standalone(self, question: str, history: list[dict[str, str]] | None, glue: bool | None = None) -> str:
        """The question the turn asks on its own terms, given the documents' authors ("she": the author).

        `glue` (default: without RAG_CONVERSATION) puts the earlier question after a turn no rewrite resolves.
        """
        authors = [records.author(d) for d in self.documents().values() if records.author(d)] if history else []
        actors = self.settings.profile.actors
        glue = not self.settings.conversation if glue is None else glue
        common = self.retriever.lowercase_words() if history and self.settings.followup_person else ()
        standalone = condense_question(
            question, history, actors, authors, glue=glue, rules=Rules.from_settings(self.settings), common=common
        )
        if standalone != question or not history or not glue or not self.settings.followup_retrieval:
            return standalone
        rules = Rules.from_settings(self.settings)
        previous = earlier_question(question, history, actors, authors, rules, common)
        if previous and self._goes_on(question, previous, history):
            return glued(question, previous, rules.ended)
        return question

    def _goes_on(self, question: str, previous: str, history: list[dict[str, str]]) -> bool:
        """Whether a turn that reads as a question of its own ("what's Japan providing in return?") goes on with
        the conversation: it names nothing the conversation didn't, and its best passage is in a document the
        earlier question's top passages come from, but is none of them.

        Words can't tell: a new topic ("what's the plan for Futenma?") names a new thing or finds its best passage
        elsewhere.
        """
        if names_new(question, [previous, *(str(turn.get("content", "")) for turn in history)]):
            return False

        def top(text: str) -> list[Hit]:
            return self.retriever.rank(self._in_corpus_words(text), self.settings.top_k, [], None)

        alone, before = top(question), top(previous)[:CONVERSATION_DOCS]
        # Its own words reaching the earlier question's passages need no help; missing them in the same document
        # ("return" finds an exchange programme beside the lunar rover) is what the earlier question mends.
        return (
            bool(alone)
            and alone[0].doc_id in {hit.doc_id for hit in before}
            and alone[0].chunk_id not in {hit.chunk_id for hit in before}
        )

    @staticmethod
    def _source_sides(query: Query) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The sources a comparison sets side by side ("the article and the White House"), or ()."""
        if query.shape != "comparison" or len(query.entities) >= 2 or query.scope is None:
            return ()
        return query.scope.sides

    def _retrieve_groups(self, query: Query) -> list[tuple[str, list[Hit]]]:
        """(question, passages) per part of a multi-part question, per side of a comparison, or just one."""

        def rank(text: str, k: int | None, countries: list[str], scope: Scope | None) -> list[Hit]:
            return self.retriever.rank(text, k, countries, scope, query.prefer)

        if sides := self._source_sides(query):
            return [(label, rank(query.standalone, None, query.countries, Scope(label, ids))) for label, ids in sides]
        if len(query.entities) >= 2:
            return [
                (entity, rank(query.standalone, None, resolve_countries([entity]), query.scope))
                for entity in query.entities
            ]
        # A list or an overview gathers items across passages, so it reads more of them.
        k = self.settings.top_k * 2 if query.shape in ("list", "overview") and len(query.parts) == 1 else None
        groups = [
            (part, self._with_byline(part, rank(part, k, query.countries, query.scopes[part]), query.scopes[part]))
            for part in query.parts
        ]
        if self._whole_document(query.shape, groups):
            # An overview of one document reads that document's passages only, for its main points.
            part, hits = groups[0]
            groups = [(part, rank(part, k, query.countries, Scope(hits[0].title, (hits[0].doc_id,))))]
        return groups

    def _with_byline(self, part: str, hits: list[Hit], scope: Scope | None) -> list[Hit]:
        """`hits`, and for "who wrote the article?" the passage of the named document that holds its byline.

        The author's name is in the document's metadata; the passage naming them is retrieved by that name, so the
        answer quotes the byline itself, whichever passages the question's own words found.
        """
        if scope is None or not ASKS_AUTHOR.search(part):
            return hits
        documents = self.documents()
        for doc_id in scope.doc_ids:
            author = records.author(documents.get(doc_id, {}))
            if author and not any(h.doc_id == doc_id and author in h.text for h in hits):
                found = self.retriever.rank(author, 1, [], Scope(scope.label, (doc_id,)))
                hits = hits + [h for h in found if author in h.text and h.chunk_id not in {x.chunk_id for x in hits}]
        return hits

    def _whole_document(self, shape: str, groups: list[tuple[str, list[Hit]]]) -> bool:
        """True for an overview (`document_overview`) whose top passages all come from one document."""
        return (
            self.settings.document_overview
            and shape == "overview"
            and len(groups) == 1
            and focus_document(groups[0][1]) is not None
        )

    @staticmethod
    def _continues(query: Query, part: str, hits: list[Hit]) -> bool:
        """Whether `part`, a turn's whole question, continues the conversation: its best passage is one of the
        conversation's documents.

        Such a turn ("when was it set up?") may name no topic of its own: the conversation vouches for its
        passages, and its sentences are chosen for it read with the earlier question. A turn whose best passage
        lies elsewhere (a new topic, a strong match of its own words) stands on its own words.
        """
        return part == query.standalone and bool(query.in_context) and bool(hits) and hits[0].doc_id in query.prefer

    @staticmethod
    def _read_with(query: Query, groups: list[tuple[str, list[Hit]]]) -> str:
        """The text the sentences are chosen for: a turn continuing the conversation, read with it."""
        if len(groups) == 1 and Engine._continues(query, query.standalone, groups[0][1]):
            return query.in_context
        return query.standalone

    def _abstention(
        self, query: str, continues: bool, hits: list[Hit], scope: Scope | None, sides: bool = False
    ) -> str | None:
        """What to say instead of answering (rag/answering/abstain.py), or None when the passages may answer."""
        return abstention(query, hits, scope, self.settings, self.embedder, self.retriever, continues, sides)

    def _extract(
        self,
        query: str,
        shape: str,
        entities: list[str],
        groups: list[tuple[str, list[Hit]]],
        answered: set[int],
        hits: list[Hit],
        by_source: bool = False,
        turn: str = "",
    ) -> Extract:
        """The extractive answer: per shape, per comparison side, per source compared, or per part (each part
        under its question). `turn`, a glued follow-up's own words, steers a one-part answer's sentences."""
        number = {h.chunk_id: n for n, h in enumerate(hits, start=1)}
        limits = Limits(
            self.settings.extractive_sentences,
            self.settings.list_max_items,
            self.settings.overview_max_items,
            self.settings.comparison_max_items,
            2 if self.settings.antecedent_chain else 1,
        )
        if len(entities) >= 2:
            numbered = [(number[h.chunk_id], h) for h in hits]
            return compare(
                query,
                entities,
                numbered,
                self.embedder,
                limits,
                self.settings.profile,
                self.settings.shared_topic,
                self.settings.side_by_publisher,
                self.settings.side_own_passages,
                self.settings.side_topic,
            )
        if len(groups) == 1:
            if not answered:
                return Extract("")
            numbered = [(number[h.chunk_id], h) for h in groups[0][1]]
            # "in their January 2023 statement" chose the source; its words are no topic to match sentences on.
            topic = without_dates(query)
            extract = extract_answer(
                topic,
                shape,
                numbered,
                self.embedder,
                limits,
                self.settings.profile,
                self._gives(topic),
                whole_document=self._whole_document(shape, groups),
                continues=self.settings.continue_pointers,
                runner_up=self.settings.reason_runner_up,
                answer_type=self.settings.answer_type,
                flag_missing=self.settings.flag_missing_figure,
                dating=self._dating(),
                turn=turn,
                kind=self.settings.asked_kind,
                headers=self.settings.dateline_context,
                more_figures=self.settings.more_figures,
                main_points=self.settings.overview_main_points,
                hedge=self.settings.fact_hedge,
                same_term=self.settings.same_term,
                about=self.settings.say_about,
                lead=self.settings.lead_closest,
                near_best=self.settings.reason_near_best,
            )
            if self.settings.later_outcome and shape == "yesno" and extract.claims:
                return self._with_later_outcome(topic, numbered, extract, limits)
            return extract
        blocks, claims, missing = [], [], []
        topic = self._source_topic(query, groups) if by_source else frozenset()
        for i, (part, part_hits) in enumerate(groups):
            extract = Extract("")
            if i in answered:
                numbered = [(number[h.chunk_id], h) for h in part_hits]
                # A source compared answers the whole question; its block is headed by the source's name.
                asks = without_dates(query) if by_source else part
                part_shape = (
                    shape if by_source else classify(part, self.settings.open_what, self.settings.overview_asks)
                )
                extract = self._extract_part(asks, part_shape, numbered, limits, topic)
                shown = {claim.text for claim in claims}
                if self.settings.part_new_sentences and extract.claims and all(c.text in shown for c in extract.claims):
                    # What an earlier part already showed doesn't answer this one: its next passages may.
                    cited = {n for claim in extract.claims for n in claim.cited}
                    rest = [(n, h) for n, h in numbered if n not in cited]
                    extract = self._extract_part(asks, part_shape, rest, limits, topic) if rest else Extract("")
                    extract = (
                        extract if extract.claims else self._extract_part(asks, part_shape, numbered, limits, topic)
                    )
                extract = without_repeats(extract, shown)
            # A part split off mid-question ("how many more are coming?") heads its block as a question would.
            heading = f"{part[:1].upper()}{part[1:]}" + (":" if by_source else "")
            blocks.append(f"{heading}\n{extract.text if extract.claims else ABSTAIN_TEXT}")
            claims += extract.claims
            missing.append(extract.missing if extract.claims else "the answer")  # a part that abstained outright
        if not claims:
            return Extract("")
        # Abstained as a whole only when no part answered: each lacks its figure, or abstained outright.
        gaps = [m for m in missing if m]
        return Extract("\n\n".join(blocks), claims, gaps[0] if len(gaps) == len(missing) else "")

    def _with_later_outcome(
        self, topic: str, numbered: list[tuple[int, Hit]], extract: Extract, limits: Limits
    ) -> Extract:
        """A yes/no answer followed by what a later-dated source says of the same figure, when one does.

        "Did Japan deliver on its 600 billion pledge?" is answered by the pledge and then by the later statement
        that the pledge was exceeded: the later document names the figure the answer's sentence holds.
        """
        cited = {n for claim in extract.claims for n in claim.cited}
        dates = [h.date for n, h in numbered if n in cited and h.date]
        figures = {f for claim in extract.claims for f in FIGURE.findall(claim.text) if not YEAR.fullmatch(f)}
        if not dates or not figures:
            return extract
        latest = max(dates)
        later = [
            (n, h)
            for n, h in numbered
            if n not in cited
            and h.date
            and is_later(h.date, latest)
            and any(re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d]|[.,]\d)", h.text) for f in figures)
        ]
        if not later:
            return extract
        one = replace(limits, sentences=1)
        asks = f"{topic} {' '.join(sorted(figures))}"
        outcome = extract_answer(asks, "fact", later, self.embedder, one, self.settings.profile, self._gives(asks))
        shown = {claim.text for claim in extract.claims}
        if not outcome.claims or all(claim.text in shown for claim in outcome.claims):
            return extract
        return Extract(f"{extract.text} {outcome.text}", extract.claims + outcome.claims, extract.missing)

    def _extract_part(
        self,
        asks: str,
        shape: str,
        numbered: list[tuple[int, Hit]],
        limits: Limits,
        topic: frozenset[str] = frozenset(),
    ) -> Extract:
        """The extractive answer to one part of a multi-part question (or one source compared on `topic`)."""
        return extract_answer(
            asks,
            shape,
            numbered,
            self.embedder,
            limits,
            self.settings.profile,
            self._gives(asks),
            runner_up=self.settings.reason_runner_up,
            answer_type=self.settings.answer_type,
            topic=topic,
            flag_missing=self.settings.flag_missing_figure,
            dating=self._dating(),
            kind=self.settings.asked_kind,
            more_figures=self.settings.more_figures,
            hedge=self.settings.fact_hedge,
            same_term=self.settings.same_term,
            topic_run=self.settings.source_topic_run,
            near_best=self.settings.reason_near_best,
        )

    def _source_topic(self, query: str, groups: list[tuple[str, list[Hit]]]) -> frozenset[str]:
        """What the sources compared are compared on: the question's terms that every source's passages hold
        (`source_shared_topic`), so that each side shows its own words on it ("counterstrike" in Jan 2023 and in
        April 2024), not a sentence about the other side's words or the question's framing."""
        if not self.settings.source_shared_topic:
            return frozenset()
        return shared_terms(
            without_dates(query), [label for label, _ in groups], [[h.text for h in hits] for _, hits in groups]
        )

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
            answer.abstained = result.abstained  # the verbatim answer says the asked figure isn't given
            answer.unsupported_sentences = result.unsupported
            if result.unsupported:
                answer.note = dropped_note(len(result.unsupported))
                yield f"\n\n({answer.note})"
                answer.text += f"\n\n({answer.note})"
        elif result.abstained:
            answer.text, answer.abstained = ABSTAIN_TEXT, True
            yield answer.text
        else:
            self._stand_in(answer, request)
            yield from PIECE.findall(answer.text)

    def _dating(self) -> Dating:
        """How the extractive composer reads a sentence's date (`relative_dates`, `named_years`)."""
        return Dating(relative=self.settings.relative_dates, named_years=self.settings.named_years)

    def _later_note(self, answer: Answer) -> str:
        """The closing line naming the cited sources dated after the corpus's primary document, or ""."""
        primary = self.settings.profile.primary
        fields = self.documents().get(primary, {}) if primary and answer.citations and not answer.abstained else {}
        label = f"the {records.kind(fields)}" if records.kind(fields) else records.title(fields)
        return later_note(answer.citations, records.date(fields), label) if fields else ""

    def _gives(self, question: str) -> Callable[[str], bool] | None:
        """Whether a sentence states what `question` asks for (`prefer_asked`), for the extractive composer."""
        if not self.settings.prefer_asked:
            return None
        details = asked_details(question)
        return lambda sentence: any(d.carries(sentence, question) for d in details)

    def _stand_in(self, answer: Answer, request: Request) -> None:
        """Show the extractive answer where no sentence the model wrote is supported, and say so."""
        answer.note = (
            f"The {self.backend} backend ({self.model}) wrote an answer the sources don't support; "
            "showing the source sentences instead."
        )
        log.warning("%s answer unsupported; showing the extractive answer", self.backend)
        if request.extract.claims:
            answer.text, answer.citations = request.verbatim
            answer.abstained = bool(request.extract.missing)
        else:
            answer.text, answer.abstained = ABSTAIN_TEXT, True

    def _messages(self, query: str, hits: list[Hit], compact: bool) -> list[dict[str, str]]:
        """The prompt for the standalone question over every retrieved passage."""
        return build_messages(query, hits, compact=compact, topic=self.settings.profile.topic)

    def search(
        self, question: str, k: int | None = None, countries: list[str] | None = None, docs: list[str] | None = None
    ) -> list[Hit]:
        """The `k` passages ranked best for `question` (validated like `ask`), optionally filtered like `ask`."""
        self._raise_if_first_ingest_runs()
        asked = self.query(question, countries=countries, docs=docs)  # no history: standalone is the question
        k = self.settings.top_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise QuestionError(f"k must be a whole number from 1 to {MAX_K}; got {k!r}.")
        return self.retriever.rank(asked.standalone, k, asked.countries, asked.scope)

    def retrieve(
        self,
        query: str,
        k: int | None = None,
        countries: list[str] | None = None,
        *,
        method: str = "hybrid",
        prefer: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The top `k` passages for a standalone query, unvalidated (callers are programs: the eval, benchmarks).

        `method` "hybrid" is what `ask` and `search` rank with; "vector" (cosine) and "bm25" are its two
        halves alone, unfused and unboosted. `prefer` boosts documents as a follow-up's conversation did
        (`Answer.conversation_docs`).
        """
        k = k or self.settings.top_k
        selected = resolve_countries(countries)
        if method == "vector":
            return self.retriever.vector_hits(query, k, country_where(selected))
        if method == "bm25":
            return self.retriever.keyword_hits(query, k, selected)
        if method != "hybrid":
            raise ValueError(f"unknown retrieval method {method!r}: hybrid, vector or bm25")
        return self.retriever.retrieve(query, k=k, countries=selected, prefer=prefer)

    @staticmethod
    def condense(
        question: str,
        history: list[dict[str, str]] | None,
        actors: frozenset[str] = frozenset(),
        conversation: bool = True,
    ) -> str:
        """The standalone question a follow-up asks, given the conversation: the search query `ask` builds.

        `actors` are the corpus profile's (`settings.profile.actors`) and `conversation` is
        `settings.conversation`, as `ask` uses them: with it the turn keeps its own words (`ask` then boosts the
        conversation's documents, which a retrieval-only pipeline doesn't), without it the earlier question is
        glued on.
        """
        return condense_question(question, history, actors, glue=not conversation)

    def chunk_texts(self) -> list[str]:
        """The text of every stored chunk."""
        return [chunk.text for chunk in self.store.chunks()]

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
        answer: Answer,
        rating: str,
        history: list[dict[str, str]] | None = None,
        comment: str = "",
    ) -> dict[str, Any]:
        """Append a thumbs up/down on `answer` to RAG_FEEDBACK_FILE (rag/feedback.py); returns the stored line."""
        return record_feedback(self.settings.feedback_file, answer, rating, history, comment)

    def documents(self) -> dict[str, dict]:
        """doc_id -> metadata (title, author, date, ...) of every stored document; {} for an empty store."""
        return self.retriever.documents() if self.store.count() else {}

    def document_titles(self) -> dict[str, str]:
        """doc_id -> title ("" for a document without one) of every stored document."""
        return {doc_id: title(meta) for doc_id, meta in self.documents().items()}

    def chunk_count(self) -> int:
        """Chunks in the store now (it grows while an ingest runs)."""
        return self.store.count()

    def warm_up(self) -> None:
        """Load the embedding model and the keyword index now rather than on the first question."""
        self.retriever.retrieve("warm-up", k=1)

    def status(self) -> dict[str, object]:
        """Backend, model, store, corpus size and last ingest, for a status line (never secrets)."""
        self.store.follow()  # another process may have ingested since
        docs = {chunk.doc_id for chunk in self.store.chunks(text=False)}
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
            "last_ingest": self.last_ingest or self.store.written_at(),
            "indexing": None if running is None else running.as_dict(),
            "embed_cache": embed_cache_status(self.settings),
        }
