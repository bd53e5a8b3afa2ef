"""The variants an eval compares: a registry of NAME -> how to build the pipeline it measures.

Every variant gets its own `eval_*` collection (named after its chunking), so evaluating never
touches the user's store and variants with the same chunking share one ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eval.pipeline import Pipeline, Ranked
from rag import Answer, Embedder, Hit, RagError, Settings

if TYPE_CHECKING:
    from rag import Engine

log = logging.getLogger(__name__)

LLAMAINDEX_TOP_K = 2  # llama-index's own default `similarity_top_k`


class UnknownVariantError(RagError):
    """A --variant names nothing in the registry."""


def _ranked(hits: list[Hit]) -> list[Ranked]:
    return [Ranked(h.rank, h.chunk_id, h.doc_id, h.text, h.score) for h in hits]


class EnginePipeline:
    """The product: `Engine.ask` (the UI's API) for answers, its hybrid ranking for the retrieval metrics."""

    answers = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ask(self, question: str, history: list[dict[str, str]] | None) -> Answer:
        """`Engine.ask`, exactly as the UI calls it (no country filter)."""
        return self.engine.ask(question, history)

    def rank(
        self, query: str, depth: int, countries: list[str] | None = None, prefer: dict[str, float] | None = None
    ) -> list[Ranked]:
        """The hybrid ranking; its top `top_k` are the passages `ask` answered from."""
        return _ranked(self.engine.retrieve(query, depth, countries, prefer=prefer))

    def chunk_texts(self) -> list[str]:
        """Every chunk in the variant's collection."""
        return self.engine.chunk_texts()


class SingleRetrieverPipeline:
    """One half of the hybrid retriever, unfused and unboosted: retrieval metrics only."""

    answers = False

    def __init__(self, engine: Engine, which: str) -> None:
        self.engine = engine
        self.which = which

    def ask(self, question: str, history: list[dict[str, str]] | None) -> Answer:
        """Not supported: this variant only retrieves."""
        raise NotImplementedError(f"{self.which}-only is a retrieval-only variant")

    def rank(
        self, query: str, depth: int, countries: list[str] | None = None, prefer: dict[str, float] | None = None
    ) -> list[Ranked]:
        """Top chunks by cosine similarity (`vector`) or BM25 (`bm25`) alone (no conversation boost)."""
        return _ranked(self.engine.retrieve(query, depth, countries, method=self.which))

    def chunk_texts(self) -> list[str]:
        """Every chunk in the variant's collection."""
        return self.engine.chunk_texts()


@dataclass(frozen=True)
class Variant:
    """A named configuration: settings overrides on top of the base settings, and what to run."""

    name: str
    description: str
    kind: str = "engine"  # engine | vector | bm25 | llamaindex
    overrides: Mapping[str, Any] = field(default_factory=dict)
    backend: str | None = None  # forces a backend; None means --backend or the settings' choice

    @property
    def answers(self) -> bool:
        """Whether the variant answers (else only its retrieval is measured)."""
        return self.kind == "engine"

    def settings(self, base: Settings) -> Settings:
        """The base settings with this variant's overrides and its own eval collection."""
        settings = base.model_copy(update=dict(self.overrides))
        collection = f"eval_c{settings.chunk_size}_o{settings.chunk_overlap}"
        return settings.model_copy(update={"collection": collection})

    def describe(self, base: Settings, backend: str | None) -> dict[str, Any]:
        """What summary.json records about how this variant ran."""
        settings = self.settings(base)
        info: dict[str, Any] = {"description": self.description, "kind": self.kind, "overrides": dict(self.overrides)}
        if self.kind == "llamaindex":
            info["similarity_top_k"] = LLAMAINDEX_TOP_K
            return info
        info.update(
            collection=settings.collection, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
        if self.answers:
            from rag.answering.llm import choose_backend

            info["backend"] = self.backend or backend or choose_backend(settings)
            info.update(top_k=settings.top_k, country_boost=settings.country_boost)
        return info

    def build(
        self, base: Settings, backend: str | None, embedder: Embedder, engine: Callable[[Settings], Engine]
    ) -> Pipeline:
        """The pipeline to measure; `engine` opens (and syncs) the collection for given settings."""
        settings = self.settings(base)
        if self.kind == "llamaindex":
            from eval.baseline import LlamaIndexPipeline

            return LlamaIndexPipeline.from_corpus(settings.corpus_dir, embedder, LLAMAINDEX_TOP_K)
        synced = engine(settings)
        if self.kind in ("vector", "bm25"):
            return SingleRetrieverPipeline(synced.with_settings(settings, "extractive"), self.kind)
        return EnginePipeline(synced.with_settings(settings, self.backend or backend))


def _off(name: str, description: str, setting: str, value: object = False) -> Variant:
    """The default configuration with one rule switched off (its setting at `value`): the rule's ablation."""
    return Variant(name, description, overrides={setting: value})


def _on(name: str, description: str, setting: str) -> Variant:
    """The default configuration with one opt-in rule switched on: what shipping it would do."""
    return Variant(name, f"{description} (off by default)", overrides={setting: True})


def _chunking(size: int) -> dict[str, int]:
    return {"chunk_size": size, "chunk_overlap": size // 6}  # the default 900/150 ratio


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("default", "the shipped configuration (Settings defaults / RAG_* env)"),
        _off("no-country-boost", "hybrid retrieval without the country boost", "country_boost", 0.0),
        _off("no-rerank", "hybrid retrieval without the sentence re-rank", "rerank_depth", 0),
        _off("no-detail-check", "no abstention for an asked detail the sources lack", "detail_check"),
        _off("no-source-scope", "questions naming a source are not limited to it", "source_scope"),
        _off("no-wording", "questions are not mapped onto the corpus's spelling", "match_wording"),
        _off(
            "no-real-words-kept",
            "an English word of the question in lower case may be read as a typo of a corpus name",
            "real_words_kept",
        ),
        _off(
            "no-counted-noun",
            "any count on the topic answers 'how many X', not only a count of X",
            "counted_cosine",
            0.0,
        ),
        _off("no-function-words-known", "stop words can count as terms the corpus lacks", "function_words_known"),
        _off("no-lone-country-codes", "a country code names its country only beside another", "lone_country_codes"),
        _off("no-spelled-names", "a name counts as given only as written or spelled out in capitals", "spelled_names"),
        _off("no-paired-initials", "a two-letter acronym is named in a sentence only as written", "paired_initials"),
        _off(
            "no-rare-phrase-close",
            "only a quoted phrase of the question found verbatim makes a passage close",
            "rare_phrase_close",
        ),
        _off(
            "no-names-together",
            "names the corpus speaks of only apart don't make a question unanswerable",
            "names_together",
        ),
        _off(
            "no-known-terms-margin",
            "a question whose terms the corpus all holds needs the same closeness as any other",
            "known_terms_margin",
            0.0,
        ),
        _off(
            "no-named-in-context",
            "a sentence naming no country doesn't name the parties of the sentence before it ('both the countries')",
            "named_in_context",
        ),
        _off(
            "no-scoped-byline",
            "the byline of a document the question names is on topic only by its words",
            "scoped_byline",
        ),
        _off(
            "no-paraphrased-acronyms",
            "an acronym is named only as written or spelled out, not by a word of like meaning ('tuberculosis')",
            "paraphrased_acronyms",
        ),
        _off(
            "no-overview-main-points",
            "a document's overview picks sentences by the question only, not by centrality and what they announce",
            "overview_main_points",
        ),
        _off(
            "no-continuation",
            "an answer sentence is not followed by the next one that points back to it",
            "continue_pointers",
        ),
        _off(
            "no-reason-runner-up",
            "a reason answer without a cue word ('because') shows the best match alone",
            "reason_runner_up",
        ),
        _off(
            "no-topic-margin",
            "the detail check reads only sentences on topic by words or absolute similarity",
            "topic_margin",
            0.0,
        ),
        _off(
            "no-paraphrase",
            "the detail check counts a sentence on topic by the question's own words, not words of like meaning",
            "paraphrase_cosine",
            0.0,
        ),
        _on(
            "figure-clause",
            "the detail check reads a figure only in the clause naming the question's names",
            "figure_clause",
        ),
        _off(
            "no-counted-phrase",
            "a count anywhere a few words before the counted noun answers 'how many', past a comma",
            "counted_phrase",
        ),
        _off(
            "no-office-initials", "'who is the thai pm?' is given any name, not a prime minister's", "office_initials"
        ),
        _off("no-publisher-asked", "'which newspaper published ...?' is answered from the passages", "publisher_asked"),
        _off("no-date-precision", "a year alone answers 'what month ...?'", "date_precision"),
        _off("no-future-dates", "a past date gives a 'when will ...?' question its date", "future_dates"),
        _off(
            "no-office-holder", "any name gives a 'who is the foreign minister?' question its person", "office_holder"
        ),
        _off("no-past-events", "a past-tense question about a year after the sources is answered", "past_events"),
        _off(
            "no-flag-missing",
            "an answer lacking the asked figure shows the closest sentences as the answer, not as an abstention",
            "flag_missing_figure",
        ),
        _off(
            "no-prefer-asked",
            "the extractive answer ranks sentences by similarity alone, not by stating what was asked",
            "prefer_asked",
        ),
        _off(
            "no-answer-type",
            "a fact answer doesn't prefer the sentence holding what the wh-word asks for (a name, quote, date, place)",
            "answer_type",
        ),
        _off("no-asked-kind", "'which hotel' doesn't prefer a sentence naming a hotel ('Sokha Hotel')", "asked_kind"),
        _off("no-more-figures", "a fact answer shows no second value of the figure asked for", "more_figures"),
        _off("no-fact-hedge", "a fact answer shows no second reading from another passage", "fact_hedge"),
        _off("no-say-about", "'what does X say about Y' shows the best sentence only, like a fact", "say_about"),
        _off("no-lead-closest", "a reason answer keeps its cue-first order", "lead_closest"),
        _off(
            "no-antecedent-chain",
            "a pointing sentence is preceded by one earlier sentence only, even when that one points back too",
            "antecedent_chain",
        ),
        _off("no-reason-near-best", "a reason answer drops a sentence scored next to the best one", "reason_near_best"),
        _off("no-same-term", "a fact answer doesn't go on to the next sentence naming its asked term", "same_term"),
        _off(
            "no-country-names",
            "capitals and cities in a question are not followed by their countries",
            "name_countries",
        ),
        _on(
            "conversation",
            "a follow-up is retrieved for its own words with the conversation's documents boosted",
            "conversation",
        ),
        _on("followup-slot", "'and X?' takes the earlier question's topic slot", "followup_slot"),
        _off("no-followup-names", "'that base' is not looked up among the conversation's names", "followup_names"),
        _off("no-followup-refers", "only pronouns and an opening 'and' mark a follow-up", "followup_refers"),
        _off("no-followup-they-glued", "'they' is replaced by the earlier question's countries", "followup_they_glued"),
        _off("no-relative-dates", "'met today' in a dated document states no date", "relative_dates"),
        _off(
            "no-dateline-context",
            "a document's dateline, header and date are no context of its sentences",
            "dateline_context",
        ),
        _off("no-named-years", "a year opening a name ('the 2022 ASEAN-U.S. Summit') counts as a date", "named_years"),
        _off(
            "no-followup-retrieval",
            "a turn that reads as its own question is never read with the earlier one",
            "followup_retrieval",
        ),
        _off(
            "no-followup-own-words", "a glued turn's sentences are scored against the glued text", "followup_own_words"
        ),
        _off(
            "no-followup-topic-unended",
            "'what about X?' replaces an earlier 'about Y' only when that question ended with '?'",
            "followup_topic_unended",
        ),
        _off(
            "no-followup-country-topic",
            "a country a follow-up asks about takes the earlier question's subject's place",
            "followup_country_topic",
        ),
        _off(
            "no-followup-last-turn",
            "'and X?' after a follow-up is added to the chain's first question only",
            "followup_last_turn",
        ),
        _off("no-followup-person", "'he'/'she' is not resolved to the person a message named", "followup_person"),
        _on("followup-cited", "the history's 'Sources:' lists point a follow-up at their documents", "followup_cited"),
        _off(
            "no-followup-ended", "a glued turn typed without '?' is carried whole into the next turn", "followup_ended"
        ),
        _off("no-open-what", "'What did X announce?' is read as a fact question", "open_what"),
        _off(
            "no-overview-asks",
            "'What's X about?', 'What came out of X?', 'What does X say?' are read as fact questions",
            "overview_asks",
        ),
        _on("part-and", "a plain 'and' before a second question splits it into parts, as a comma does", "part_and"),
        _off(
            "no-part-subject",
            "a later part's pronoun is left as asked, not given the first part's subject",
            "part_subject",
        ),
        _off(
            "no-part-new-sentences",
            "a later part may repeat the sentences an earlier part showed",
            "part_new_sentences",
        ),
        _off("no-later-outcome", "a yes/no answer does not look for a later source naming its figure", "later_outcome"),
        _off(
            "no-document-overview",
            "an overview from one document's passages is composed like any other overview",
            "document_overview",
        ),
        _off(
            "no-compare-sources",
            "two dated statements, the article beside a dated one, or 'X or Y' are not set side by side",
            "compare_sources",
        ),
        _off("no-article-named", "only 'according to the article', 'the article says' limit to it", "article_named"),
        _off(
            "no-shared-topic",
            "a comparison side's sentences are ranked by the whole question, not by what both sides speak of",
            "shared_topic",
        ),
        _off(
            "no-side-by-publisher",
            "a country compared takes only the sentences that name it, not its publishers' other sentences",
            "side_by_publisher",
        ),
        _off(
            "no-source-shared-topic",
            "each source compared ranks its sentences by the whole question, not by what every source speaks of",
            "source_shared_topic",
        ),
        _off(
            "no-source-per-side",
            "a month and year beside one named source does not name a second source to compare",
            "source_per_side",
        ),
        _off(
            "no-side-title-countries",
            "a compared source keeps every document of its date, whatever countries their titles name",
            "side_title_countries",
        ),
        _off("no-topic-label", "a leading 'topic:' reads as a first question: no source named", "topic_label"),
        _off(
            "no-source-topic-run",
            "a compared source shows its best sentences, not its on-topic ones each with the next one on that point",
            "source_topic_run",
        ),
        _off("no-year-sides", "two bare years and the countries named are no two sources to compare", "year_sides"),
        _off(
            "no-side-topic",
            "a comparison side's sentences are not scored by their closeness to what is compared",
            "side_topic",
        ),
        _off(
            "no-side-own-passages",
            "a comparison's side that is a corpus actor keeps only passages naming the other side too",
            "side_own_passages",
        ),
        _off(
            "no-article-sides",
            "a bare 'article', its author's name or a statement named by its countries names no side to compare",
            "article_sides",
        ),
        _off(
            "no-named-document",
            "a document named by its title's words, date and countries does not limit the question to it",
            "named_document",
        ),
        _off("no-rare-ngram", "rare word pairs of the question are not ranked first", "rare_ngram", 0),
        _off("hnsw-search", "the vector half searches Chroma's HNSW index, not every vector", "exact_search_max", 0),
        _off("no-counted-stems", "a count must stand by the counted word or one of like meaning", "counted_stems"),
        _off("no-rare-name", "a rare one-word name of the question keeps no place in the top k", "rare_name"),
        _off(
            "no-rare-name-close",
            "a passage holding a rare one-word name of the question is not close enough on that alone",
            "rare_name_close",
        ),
        _off(
            "no-derived-names",
            "a name the passages write only in a derived form ('Italy' for 'Italians') is missing: abstain",
            "derived_names",
        ),
        Variant("vector-only", "Chroma cosine similarity alone (retrieval only)", kind="vector"),
        Variant("bm25-only", "BM25 alone (retrieval only)", kind="bm25"),
        Variant("chunk-400", "400-character chunks, 66 overlap", overrides=_chunking(400)),
        Variant("chunk-600", "600-character chunks, 100 overlap", overrides=_chunking(600)),
        Variant("chunk-1200", "1200-character chunks, 200 overlap", overrides=_chunking(1200)),
        Variant(
            "llamaindex-default",
            f"llama-index VectorStoreIndex defaults: SentenceSplitter, top-{LLAMAINDEX_TOP_K} (retrieval only)",
            kind="llamaindex",
        ),
        Variant(
            "local-smollm2", "bundled SmolLM2-135M via llama.cpp", overrides={"local_model": "smollm2"}, backend="local"
        ),
        Variant(
            "local-gemma3", "bundled Gemma 3 270M via llama.cpp", overrides={"local_model": "gemma3"}, backend="local"
        ),
    )
}
DEFAULT_VARIANTS = (
    "default",
    "llamaindex-default",
    "bm25-only",
    "vector-only",
    "no-country-boost",
    "no-rerank",
    "no-rare-ngram",
    "conversation",
    "followup-slot",
    "no-followup-names",
    "no-followup-refers",
    "no-followup-they-glued",
    "no-followup-ended",
    "no-followup-topic-unended",
    "no-followup-country-topic",
    "no-followup-person",
    "followup-cited",
    "no-source-scope",
    "no-detail-check",
    "no-wording",
    "no-topic-margin",
    "no-prefer-asked",
    "no-country-names",
    "no-document-overview",
    "no-compare-sources",
    "no-spelled-names",
    "no-continuation",
    "no-reason-runner-up",
    "no-open-what",
)


def resolve_variants(names: list[str] | None) -> list[Variant]:
    """Registry entries for `names` (default set when empty), in the given order, without repeats."""
    chosen = []
    for name in dict.fromkeys(names or DEFAULT_VARIANTS):
        if name not in VARIANTS:
            raise UnknownVariantError(f"Unknown variant {name!r}; choose from: {', '.join(VARIANTS)}.")
        chosen.append(VARIANTS[name])
    return chosen
