"""The one Settings object: every knob, read from `RAG_*` (and `CHROMA_*`, `OPENAI_*`) env vars."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from rag.profile import Profile

Backend = Literal["openai", "openai-compatible", "local", "extractive"]


class Settings(BaseSettings):
    """Project configuration. Defaults are the measured best on the eval `dev` split."""

    # populate_by_name: code and tests pass fields by name, also those read from an env var of another name.
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(
        default=Path("corpus"), description="Folder of documents (.md .txt .html .pdf .docx) and its profile.yaml."
    )
    profile_file: Path | None = Field(
        default=None,
        validation_alias="RAG_PROFILE",
        description="The corpus profile YAML (default: <corpus_dir>/profile.yaml).",
    )
    store_dir: Path = Field(
        default=Path("data/store"), description="The embedded Chroma store (relative to the working directory)."
    )
    collection: str = Field(default="corpus", description="Chroma collection name.")

    chroma_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_HOST", "RAG_CHROMA_HOST"),
        description="A Chroma server to use instead of the embedded store.",
    )
    chroma_port: int = Field(
        default=8000, validation_alias=AliasChoices("CHROMA_PORT", "RAG_CHROMA_PORT"), description="Its port."
    )

    chunk_size: int = Field(default=900, ge=100, description="Target chunk length in characters.")
    chunk_overlap: int = Field(default=150, ge=0, description="Overlap between chunks in characters.")
    # 16, not sentence-transformers' 32: ONNX Runtime encodes the corpus's chunks ~18% faster in batches of 16
    # (31.8 vs 26.9 chunks/s, medians of 4 alternating runs on 2 cores; 8 is no faster), torch ~10% faster.
    embed_batch_size: int = Field(default=16, ge=1, description="Texts per embedding batch.")
    embed_runtime: Literal["onnx", "torch"] = Field(
        default="onnx", description="onnx: ONNX Runtime (fast start); torch: sentence-transformers (the reference)."
    )
    embed_cache_dir: Path | None = Field(
        default=None,
        description="Where the ONNX export and the embedding cache are kept (default: ~/.cache/diplomatic-rag).",
    )
    embed_cache: bool = Field(
        default=True,
        description="Reuse the vectors of chunks embedded before (by text, model and runtime), and those shipped "
        "for corpus/; off: every changed file is embedded.",
    )
    embed_cache_mb: float = Field(
        default=500.0, gt=0, description="Most megabytes the embedding cache keeps; least recently used go first."
    )
    embed_threads: int | None = Field(default=None, ge=1, description="ONNX Runtime threads (default: all cores).")
    max_file_mb: float = Field(default=20.0, gt=0, description="Larger corpus files are skipped.")
    # Over 10x the largest shipped document (45,984 characters, 63 chunks), and small enough that one document
    # at a cap embeds in under a minute on two cores (~20 chunks/s) while it holds the writer lock.
    max_doc_chars: int = Field(
        default=500_000, ge=1000, description="A document with more extracted text is skipped (checked while read)."
    )
    max_doc_chunks: int = Field(default=1000, ge=1, description="A document that needs more chunks is skipped.")
    # 500,000 characters fill about 200 pages of prose, so a PDF past 1,000 pages is over the text cap anyway;
    # the page count is known before any page is read, where the text cap trips only as text comes out.
    max_pdf_pages: int = Field(default=1000, ge=1, description="A PDF with more pages is skipped before it is read.")
    max_extract_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A document whose text takes longer to extract is skipped (checked per page or paragraph).",
    )

    exact_search_max: int = Field(
        default=20_000,
        ge=0,
        description="A store of up to this many chunks is searched exactly (its vectors held in memory, 1.5 KB a "
        "chunk) instead of through Chroma's HNSW index, which each process rebuilds and which can miss the nearest "
        "chunk in some builds (0: always HNSW).",
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Passages given to the answer.")
    candidates: int = Field(default=30, ge=1, description="Hits taken from each retriever before fusion.")
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank fusion constant.")
    rerank_depth: int = Field(default=25, ge=0, description="Fused hits re-ranked by best sentence match (0: off).")
    rerank_fusion_weight: float = Field(default=0.2, ge=0, description="Share of the fused rank kept in the re-rank.")
    rerank_term_weight: float = Field(
        default=0.2, ge=0, description="Weight of a sentence's share of the question's rare terms in the re-rank."
    )
    bm25_weight: float = Field(default=0.7, ge=0, description="Weight of the BM25 ranking in the fusion (vector: 1).")
    country_boost: float = Field(
        default=1.0, ge=0, description="RRF bonus share for chunks naming the question's countries."
    )

    date_boost: float = Field(
        default=1.0, ge=0, description="RRF bonus share for chunks of documents dated in a month the question names."
    )
    rare_ngram: int = Field(
        default=2,
        ge=0,
        description="A question's word pair found in at most this many candidates keeps a place in the top k (0: off).",
    )
    rare_name_close: bool = Field(
        default=True,
        description="A passage holding a one-word name of the question that few passages hold (`rare_name`) is close "
        "enough to answer from when every other word of the question is a corpus word: 'what is the OSA for?'.",
    )
    counted_stems: bool = Field(
        default=True,
        description="'How many X' is answered by a count of another form of X (one stem): 'how many vaccinations' by "
        "'400 million vaccine doses', 'how many cooperation deals' by '13 cooperative agreements'.",
    )
    derived_names: bool = Field(
        default=True,
        description="A name of the question the passages write in a derived form counts as named (no abstention): "
        "'Italians' for 'Italy', 'Brits' for 'British', 'Quadrilateral' for 'Quad' (a shared start of four letters "
        "or more, most of the shorter word).",
    )
    rare_name: bool = Field(
        default=True,
        description="A one-word name of the question (an acronym, a capitalised word) that at most `rare_ngram` "
        "candidates hold keeps a place in the top k, as a rare word pair does: 'what are the new EDCA sites for?'.",
    )
    conversation: bool = Field(
        default=False,
        description="A follow-up is retrieved for its own words with the conversation's documents preferred, "
        "instead of with the earlier question glued on (off: it helped dev-fresh, and cost blind-2's follow-ups).",
    )
    followup_slot: bool = Field(
        default=False,
        description="'and X?' takes the earlier question's topic slot however it was asked ('agree on the ocean', "
        "'what jet engine deal'), instead of being added after it (off: round 4's ablation, it cost blind-4 turns).",
    )
    followup_names: bool = Field(
        default=True,
        description="'that base' in a follow-up is the 'Ream Naval Base' the earlier question or answer named.",
    )
    followup_refers: bool = Field(
        default=True,
        description="A turn that refers back in any way ('the next one', 'the same') is read with the conversation, "
        "not only one with a pronoun or an opening 'and'.",
    )
    followup_they_glued: bool = Field(
        default=True,
        description="'they'/'them'/'their' in a follow-up is read with the earlier question glued on, instead of "
        "being replaced by the countries it named (often the wrong side: 'did they deliver it?' after Japan's "
        "pledge to the Philippines).",
    )
    followup_own_words: bool = Field(
        default=True,
        description="A turn read with the earlier question glued on chooses its sentences by its own words first: "
        "their similarity to the turn alone and to the glued text are weighed together, so a sentence answering the "
        "earlier question does not win.",
    )
    followup_retrieval: bool = Field(
        default=True,
        description="A turn that reads as a question of its own is read with the earlier question when its best "
        "passage lies in a document the earlier question's top passages come from (words alone can't tell).",
    )
    followup_ended: bool = Field(
        default=True,
        description="A turn read with the earlier question glued on gets a '?' when typed without one, so the next "
        "turn drops its leaning words ('what did they say about X') instead of carrying the whole chain.",
    )
    followup_topic_unended: bool = Field(
        default=True,
        description="'what about X?' replaces the earlier question's 'about Y' topic also when that question was typed "
        "without a '?', instead of adding 'about X' after it ('... about defence spending about missiles').",
    )
    followup_country_topic: bool = Field(
        default=True,
        description="A follow-up asking about a country ('did they say anything about North Korea?') is read with the "
        "earlier question glued on, instead of that country taking the earlier question's subject's place.",
    )
    followup_last_turn: bool = Field(
        default=True,
        description="'and X?' after a follow-up ('what did they agree on defence?') keeps that turn's own words before "
        "the question it leaned on, instead of adding X to the chain's first question only.",
    )
    followup_person: bool = Field(
        default=True,
        description="'he'/'she' in a follow-up is the person the latest message that names one named, the assistant's "
        "answers included ('did he also meet Biden?' after an answer naming Nguyen Phu Trong), unless the "
        "conversation is about a document's author: a leader's name, or a capitalised title the corpus also writes in "
        "lower case followed by words it never does ('Minister Wong'). The earlier question stays glued on.",
    )
    followup_cited: bool = Field(
        default=False,
        description="A follow-up prefers the documents that the latest 'Sources:' list in the history names (a client "
        "sending the previous reply back says what the conversation is about): their passages get the "
        "conversation boost (off: round 4's ablation, it cost a blind-4 turn).",
    )
    conversation_boost: float = Field(
        default=0.1,
        ge=0,
        description="Re-rank bonus (sentence-similarity units) for the chunks of the documents the conversation "
        "retrieves, weighted 1, 1/2, 1/3... in their order.",
    )
    source_scope: bool = Field(
        default=True, description="Limit 'the article'/'White House' questions to those documents."
    )

    abstain_below: float = Field(
        default=0.45, description="Abstain when no passage has a sentence this similar to the question."
    )
    detail_check: bool = Field(default=True, description="Abstain when no on-topic sentence gives the asked detail.")
    known_terms_margin: float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="A question whose every term the corpus holds is close enough this far below abstain_below: its "
        "words are the corpus's, only said differently (0: off).",
    )
    named_in_context: bool = Field(
        default=True,
        description="A sentence naming no country ('signed by both the countries') names the parties of the "
        "sentence before it, where the detail check asks a sentence near the best one to name all the question names.",
    )
    scoped_byline: bool = Field(
        default=True,
        description="The byline of a document the question names is on its topic ('who wrote the X piece?').",
    )
    paraphrased_acronyms: bool = Field(
        default=True,
        description="An acronym of the question ('TB') is also named by a sentence word of like meaning "
        "('tuberculosis') where the detail check reads the sentences naming all that the question names.",
    )
    match_wording: bool = Field(
        default=True,
        description="Map a question's spelling variants, name typos and abbreviated months onto the corpus's words.",
    )
    real_words_kept: bool = Field(
        default=True,
        description="A word of the question in lower case (or opening it) that is an ordinary English word (one "
        "whole token of the embedder's vocabulary, or a stop word) is never read as a typo of a corpus name: "
        "'price' stays 'price', not 'Prime', 'police' not 'Police', 'shout' not 'Shot' (on since round 6: over "
        "the eight tuning sets it gained a turn and an abstention and lost an untrue one).",
    )
    function_words_known: bool = Field(
        default=True,
        description="Stop words of a standard English list ('much', 'so') never count as topic terms the corpus "
        "lacks (known_terms_margin, follow-up turns).",
    )
    lone_country_codes: bool = Field(
        default=True,
        description="A two-letter country code standing alone ('PH') names its country when the sources name it, "
        "the question is not written in capitals and the code is no word.",
    )
    spelled_names: bool = Field(
        default=True,
        description="A name the question uses is given where the sources spell an acronym out in lower case "
        "(foreign direct investment) or write the name apart (South East).",
    )
    paired_initials: bool = Field(
        default=True,
        description="Where the detail check reads a sentence for the question's names, a two-letter acronym ('PM') "
        "is also named by two adjacent capitalised words with its initials ('Prime Minister').",
    )
    rare_phrase_close: bool = Field(
        default=True,
        description="A passage holding a word pair of the question that few passages hold (`rare_ngram`) is close "
        "enough to answer from, as a passage holding a quoted phrase is: 'what's the diamond hexagon thing'; not a "
        "pair the corpus writes only as a name ('Natasha Agarwal'), which says who is asked about, not what.",
    )
    names_together: bool = Field(
        default=True,
        description="Abstain when a one-sided question names two or more things the corpus names (never in lower "
        "case, countries aside) and no chunk names them all: 'what did Modi say about Ream Naval Base?' when the "
        "sources speak of each apart.",
    )
    topic_coverage: float = Field(
        default=0.8, ge=0, le=1, description="Share of the question's IDF-weighted terms that puts a sentence on topic."
    )
    topic_similarity: float = Field(
        default=0.65, ge=0, le=1, description="A sentence this similar to the question is on its topic too."
    )
    counted_cosine: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="'How many troops ...?' is answered only by a count a few words before 'troops' or before a word "
        "whose embedding is at least this close ('soldiers'; 'aircraft' for 'jets'), not by any figure on the "
        "topic. 0: any count on the topic answers.",
    )
    paraphrase_cosine: float = Field(
        default=0.62,
        ge=0,
        le=1,
        description="A question word counts as covered by a sentence word this similar in meaning ('TB' by "
        "'tuberculosis') when the detail check reads a sentence stating the asked detail (0: off).",
    )
    name_countries: bool = Field(
        default=True,
        description="A capital or city in a question is followed by its country: 'Jakarta (Indonesia)'.",
    )
    figure_clause: bool = Field(
        default=False,
        description="The detail check reads a figure only in the clause naming the question's names ('60,000 "
        "engineers' is Lam Research's, not Applied Materials' in the same sentence), and an amount as no count "
        "(off: in round 3's final ablation it cost the held-out set one answerable turn and won none).",
    )
    counted_phrase: bool = Field(
        default=True,
        description="'How many troops ...?' is answered only by a count whose own phrase (up to a comma) names "
        "'troops' ('in 50 years, with the first students' counts no students), and a word in capitals after 'how "
        "many' is a name, not a function word ('how many US troops' counts troops).",
    )
    office_initials: bool = Field(
        default=True,
        description="A who-question asking for an office by its initials ('who is the thai pm?') needs someone named "
        "with the office written out ('Prime Minister ...'), as one asking 'prime minister' does.",
    )
    publisher_asked: bool = Field(
        default=True,
        description="'Which newspaper published ...?' is answered only when the asked document's front matter names "
        "its publisher (not 'unknown').",
    )
    date_precision: bool = Field(
        default=True,
        description="A question asking for a month or a day ('what month ...?', 'when ..., month?') is given it only "
        "by a sentence naming a month (or a day of one), not a year alone.",
    )
    future_dates: bool = Field(
        default=True,
        description="A 'when will ...?' question is given a date only by a sentence speaking of the future or naming "
        "a year after its document's.",
    )
    office_holder: bool = Field(
        default=True,
        description="A 'who is the foreign minister?' question is answered only by a sentence naming someone with "
        "that office ('Foreign Minister Penny Wong').",
    )
    past_events: bool = Field(
        default=True,
        description="Abstain on a past-tense question about an event of a year after every retrieved document's date "
        "('what was agreed at the 2024 summit?' over sources of 2023 that only announce it).",
    )
    flag_missing_figure: bool = Field(
        default=True,
        description="When no retrieved sentence states the date, amount or number asked for, the extractive answer "
        "opens with 'The sources don't give <it>. The closest passages say:' and counts as an abstention (off: the "
        "closest sentences are shown as the answer).",
    )
    prefer_asked: bool = Field(
        default=True,
        description="The extractive answer prefers sentences stating the asked detail or the question's rare terms.",
    )
    relative_dates: bool = Field(
        default=True,
        description="A date question is answered by a sentence saying 'today' or 'this week' in a dated document "
        "too; the answer shows that document's date before it.",
    )
    dateline_context: bool = Field(
        default=True,
        description="A document's dateline and header lines ('20 May 2023, Hiroshima', 'Hosted by ...'), a dated "
        "title and its date count as the context of each of its sentences for the asked-detail check, and a 'today' "
        "sentence states its document's date there; a header line stating the date, place or person asked for can "
        "also be an answer line, shown first among its document's sentences.",
    )
    named_years: bool = Field(
        default=True,
        description="A year opening a capitalised name ('the 2022 ASEAN-U.S. Special Summit') is no date for a "
        "date question: the sentence with the event's own date is preferred.",
    )
    answer_type: bool = Field(
        default=True,
        description="A fact answer prefers the sentence holding what the question's wh-word asks for: a title and a "
        "name for 'who', quoted words for 'what did X say', a name or code the question lacks for 'which X', a date "
        "for 'when', a place for 'where'; a quoted question in the text is someone's words, not a rhetorical one.",
    )
    asked_kind: bool = Field(
        default=True,
        description="A fact answer to 'which X' / 'what X' prefers a sentence naming an X the question doesn't "
        "('Sokha Hotel' for 'which hotel'; stems and British/American spellings match).",
    )
    more_figures: bool = Field(
        default=True,
        description="A fact answer stating the figure asked for also shows one close sentence stating another "
        "value of it (a second amount or date), not only sentences adding a word of the question.",
    )
    fact_hedge: bool = Field(
        default=True,
        description="A fact answer (not a yes/no one) also shows the best sentence of another passage that scores "
        "nearly as well as the best one and says something else: a second reading in case the best-scored sentence "
        "is wrong.",
    )
    same_term: bool = Field(
        default=True,
        description="A fact answer shows the sentence right after the best one when both name the question's "
        "distinctive term (an acronym or a name): it says what the term introduced in the best one does.",
    )
    antecedent_chain: bool = Field(
        default=True,
        description="A shown sentence whose subject points back ('These arrangements ...') is preceded by the "
        "sentence it refers to, and that one by its own when it points back too ('It has also signed ...'): two "
        "sentences back at most, never past a heading or a paragraph break.",
    )
    lead_closest: bool = Field(
        default=True,
        description="A reason answer of several sentences opens with the one closest to the question (sentence "
        "vectors), not with one only holding a cue word ('to ensure') or the question's words, so the answer is not "
        "buried.",
    )
    reason_near_best: bool = Field(
        default=True,
        description="A reason answer also shows the sentence scored nearly as well as the best one, in place of the "
        "weakest sentence chosen only for a cue word ('to ensure') when the answer is full: two sentences that close "
        "are equally likely to give the reason.",
    )
    say_about: bool = Field(
        default=True,
        description="A fact question asking what something says about a topic ('what does the statement say about "
        "space?') shows up to the sentence limit of close sentences nearly as near to the topic alone as the best "
        "one, not the best sentence only: the document says several things about it. Not applied to a part of a "
        "multi-part question or to one side of compared sources.",
    )
    topic_margin: float = Field(
        default=0.08,
        ge=0,
        le=1,
        description="A sentence naming everything the question names, this close to the best sentence's similarity, "
        "is on its topic too (0: off).",
    )
    support_threshold: float = Field(
        default=0.55, description="A sentence whose best quote is less similar is unsupported."
    )
    max_question_chars: int = Field(default=2000, ge=10, description="Longer questions are refused with a message.")
    extractive_sentences: int = Field(
        default=3, ge=1, le=10, description="Most sentences in an extractive fact, reason or yes/no answer."
    )
    list_max_items: int = Field(default=8, ge=1, le=30, description="Most bullets in a list answer.")
    overview_max_items: int = Field(default=6, ge=1, le=30, description="Most bullets in an overview answer.")
    comparison_max_items: int = Field(default=3, ge=1, le=10, description="Most bullets per side of a comparison.")
    compare_sources: bool = Field(
        default=True,
        description="A question that names two sources (two dated statements, or the article and a dated "
        "statement) or two countries as alternatives ('X or Y') is answered side by side, each side from its "
        "own passages.",
    )
    article_named: bool = Field(
        default=True,
        description="A question naming the article in any wording ('what's the article about?', 'is the op-ed "
        "right?'), not only 'according to the article' or 'the article says', is limited to it.",
    )
    shared_topic: bool = Field(
        default=True,
        description="Each side of a comparison prefers sentences holding the question's terms that both sides' "
        "sentences hold (what is compared), over sentences only naming the side.",
    )
    continue_pointers: bool = Field(
        default=True,
        description="A sentence in a fact, reason or yes/no answer is followed by the next one when that one "
        "points back to it ('This will allow...').",
    )
    reason_runner_up: bool = Field(
        default=True,
        description="A reason answer whose sentences name no cause in so many words ('because', 'to counter') "
        "also shows the next best sentence: a cause is often stated without a cue word.",
    )
    open_what: bool = Field(
        default=True,
        description="'What did <someone> <do>?' with nothing after the verb ('What did the fact sheet announce?') is "
        "answered as an overview.",
    )
    overview_asks: bool = Field(
        default=True,
        description="'What's X about?', 'What came out of X?' and 'What does X say?' are answered as an overview.",
    )
    part_and: bool = Field(
        default=False,
        description="A plain 'and' before a second question ('What is the IPMDA and how has it progressed?') or "
        "before a preposition and a country ('with China and with the US') splits the question into parts, as a "
        "comma does; each part is retrieved and answered on its own (off: in round 3's final ablation it helped "
        "dev but cost the held-out set).",
    )
    part_subject: bool = Field(
        default=True,
        description="A later part's pronoun takes the first part's subject: 'he' its person, 'it' the name it asks "
        "about or ends on ('... did Kishida visit, and where did he go ...': 'where did Kishida go').",
    )
    part_new_sentences: bool = Field(
        default=True,
        description="A later part whose answer would only repeat sentences an earlier part showed is answered from "
        "its other passages ('What is the IPMDA and how has it progressed?': the progress, not the definition again).",
    )
    later_outcome: bool = Field(
        default=True,
        description="A yes/no answer is followed by the best sentence of a later-dated retrieved source that names "
        "a figure the answer holds ('Did Japan deliver on the 600 billion pledge?': the later statement that it was "
        "exceeded).",
    )
    document_overview: bool = Field(
        default=True,
        description="An overview whose passages come from one document reads that document: its main points, "
        "spread over it by sentence-vector diversity, in document order.",
    )
    overview_main_points: bool = Field(
        default=True,
        description="A whole document's overview prefers sentences central to it (mean cosine to its other "
        "sentences) that announce something (a multiword name, a figure) to those only close to the question's "
        "wording; a line that only introduces a list ('the following initiatives.') is left for its items.",
    )
    side_by_publisher: bool = Field(
        default=True,
        description="A country compared is also spoken for by its publishers: a sentence naming no side is on the "
        "side of its document's publisher's country (a White House readout's sentences on the United States' side).",
    )
    source_per_side: bool = Field(
        default=True,
        description="Beside one source a question names ('the op-ed'), a month and year that dates other "
        "documents ('the Sept 2023 statement') names a second: the two are compared side by side.",
    )
    side_title_countries: bool = Field(
        default=True,
        description="A compared source of several documents of one date keeps those whose title names exactly the "
        "question's countries ('the April 2024 US-Japan statement', not the Japan-Philippines-US one that week).",
    )
    source_topic_run: bool = Field(
        default=True,
        description="Each source compared shows its sentences holding what every source speaks of, each followed by "
        "the next sentence of its document when that one goes on about the same point (cosine >= 0.5); its "
        "sentences holding none of it are left out.",
    )
    topic_label: bool = Field(
        default=True,
        description="A leading topic before a colon ('counterstrike: what changed between ...?') labels the one "
        "question: it is not read as a first question of two, so the question may still name its sources.",
    )
    year_sides: bool = Field(
        default=True,
        description="Two years and two or more countries a comparison names ('the US on Japan in 2023 vs 2024') are "
        "two sources: the documents of each year whose title names exactly those countries.",
    )
    side_topic: bool = Field(
        default=True,
        description="Each side of a comparison prefers sentences whose stored vector is close to what is compared: "
        "the question less the sides' names ('net zero years' of 'net zero years - Thailand vs Vietnam?').",
    )
    side_own_passages: bool = Field(
        default=True,
        description="Each side of a two-country comparison is answered from the passages naming it, even when they "
        "name no other side ('India and Japan alike': Japan's own statement, not only passages naming India too).",
    )
    article_sides: bool = Field(
        default=True,
        description="A comparison naming the article loosely (a bare 'article', its author's surname) beside another "
        "source, or beside a statement named by its countries ('the op-ed vs the US-Indonesia statement'), sets the "
        "article against that source: each side answered from its own documents.",
    )
    named_document: bool = Field(
        default=True,
        description="A question naming one document loosely ('the april 2024 us japan joint leaders statement', "
        "'the june 2023 NSA readout') by its title's words or initials, its month and its countries (capitals and "
        "demonyms too) is answered from that document, when it clearly wins over every other.",
    )
    source_shared_topic: bool = Field(
        default=True,
        description="Each source compared (two dated statements, the article and a statement) prefers sentences "
        "holding the question's terms that every source's sentences hold (what is compared).",
    )

    llm_backend: Backend | None = Field(
        default=None,
        description="Who writes the answer: extractive, local, openai, openai-compatible (default: openai when a key"
        " is set, else extractive).",
    )
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds before an LLM call is given up.")
    llm_retries: int = Field(default=2, ge=0, description="Retries, with backoff, on 429/5xx and connection errors.")
    llm_deadline: float = Field(
        default=120.0, gt=0, description="Seconds a whole LLM answer may take, however steadily it streams."
    )
    temperature: float = Field(default=0.1, ge=0, le=2, description="LLM sampling temperature.")
    max_tokens: int = Field(default=300, ge=16, description="Most tokens an LLM answer may have.")
    openai_model: str = Field(default="gpt-4o-mini", description="Model name sent to the OpenAI(-compatible) server.")
    local_model: str = Field(default="smollm2", description="smollm2, gemma3 or a path to a .gguf file.")
    local_context: int = Field(default=4096, ge=512, description="llama.cpp context length in tokens.")
    local_threads: int | None = Field(default=None, description="llama.cpp threads (default: all cores).")
    local_extra_buffers: Literal["auto", "on", "off"] = Field(
        default="auto", description="llama.cpp's extra weight buffers (AMX, repacked); auto: off on CPUs with AMX."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY"),
        description="Key for the OpenAI backends.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL"),
        description="Server of the openai-compatible backend (vLLM, Ollama, llama.cpp server...).",
    )

    ui_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("RAG_UI_HOST", "GRADIO_SERVER_NAME"),
        description="Where the UI listens (loopback by default).",
    )
    ui_port: int = Field(
        default=7860, validation_alias=AliasChoices("RAG_UI_PORT", "GRADIO_SERVER_PORT"), description="The UI's port."
    )
    ui_auth: SecretStr | None = Field(
        default=None,
        description="user:password to require a login; after 5 failed logins a client waits 1 s, 2, 4... (to 5 min).",
    )
    ui_concurrency: int = Field(default=8, ge=1, description="Requests served at once per event.")
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (e.g. 127.0.0.1 or 10.0.0.0/8) of reverse proxies whose "
        "X-Forwarded-For names the client (for the login throttle and the logs). Empty: the connecting address is "
        "the client, whatever the headers say.",
    )
    allow_upload: bool = Field(default=False, description="Let UI users add documents (stored only in the upload dir).")
    upload_dir: str = Field(default="uploads", description="Folder inside the corpus dir that uploads go to.")
    upload_max_mb: float = Field(default=10.0, gt=0, description="Larger uploads are refused.")

    feedback_file: Path = Field(
        default=Path("data/feedback.jsonl"), description="Where thumbs up/down on answers are appended (JSONL)."
    )

    api_host: str = Field(default="127.0.0.1", description="Where `rag serve` listens (loopback by default).")
    api_port: int = Field(default=8800, description="Port of `rag serve`.")
    api_key: SecretStr | None = Field(default=None, description="Bearer token the /v1 API requires when set.")
    api_max_request_kb: int = Field(default=256, ge=1, description="Larger /v1 request bodies get HTTP 413.")

    @property
    def profile(self) -> Profile:
        """The corpus profile (topic, actors, UI words), read on first use and again only when its file changes."""
        from rag.profile import PROFILE_FILE, current_profile

        return current_profile(self.profile_file or self.corpus_dir / PROFILE_FILE)
