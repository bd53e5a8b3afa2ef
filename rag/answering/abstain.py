"""When to say the sources don't answer: the asked-detail check, and the text the name check reads.

A question can ask for a kind of detail: a date, an amount, a number, a person, a place or a name.
When no retrieved sentence on the question's topic carries that kind of detail, the sources don't
give it, however close the passages are ("When was the Japan-UK RAA signed?": the RAA sentence
has no date; the nearest dated sentence is about another agreement).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ingest.chunking import content_sentences, sentence_spans
from ingest.countries import country_mentions, find_countries
from rag.answer import ABSTAIN_TEXT
from rag.answering.details import (
    ASKS_FUTURE,
    DETAILS,
    FUTURE,
    MONTH,
    SENTENCE_STARTERS,
    Dating,
    Detail,
    as_dated,
    asked_details,
    asked_office,
    asked_precision,
    asks_publisher,
    clauses,
    counted_words,
    counts_one_of,
    dated_title,
    gives_future_date,
    gives_precision,
    header_lines,
    known_publisher,
    names_office_holder,
    proper_nouns,
    same_stem,
    spoken_date,
    without_amounts,
)
from rag.answering.shapes import OVERVIEW
from rag.retrieval.scope import (
    QUESTION_WORDS,
    Scope,
    question_names,
    quoted_phrases,
    scope_rules,
    without_scope_words,
)
from rag.retrieval.wording import derived_in, named_in
from rag.storage.embeddings import EMBED_DIM
from rag.storage.records import Hit

if TYPE_CHECKING:
    from rag.retrieval.retrieve import Retriever
    from rag.settings import Settings
    from rag.storage.embeddings import Embedder

WORDS = re.compile(r"\w\w+")  # BM25's tokens


def searchable_text(hit: Hit) -> str:
    """What the name check reads of a passage: its text, and its document's title, byline, publisher and date."""
    fields = [
        hit.title,
        hit.section,
        hit.date,
        hit.author,
        hit.publisher,
    ]
    return "\n".join([*(f for f in fields if f), hit.text])


def passage_sentences(hits: list[Hit], embedding: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Every sentence of the passages (bylines and headings too), and each one's cosine with the question.

    Similarities come from the sentence vectors stored with each chunk; sentences too short to have one
    (a byline) get 0 and can only be on the topic by their words.
    """
    sentences: list[str] = []
    sims: list[float] = []
    for hit in {h.doc_id: h for h in reversed(hits)}.values():
        if author := hit.author:  # the byline of the front matter: "Who wrote ...?"
            sentences.append(f"{hit.title}, by {author}")
            sims.append(0.0)
    for hit in hits:
        scored = dict(zip(content_sentences(hit.text), _sentence_vectors(hit) @ embedding, strict=False))
        for span in sentence_spans(hit.text, 0, len(hit.text)):
            sentences.append(hit.text[span[0] : span[1]])
            sims.append(float(scored.get(span, 0.0)))
    return sentences, np.array(sims)


def counts_after_topic(hits: list[Hit], topical: np.ndarray, question: str, stems: bool = False) -> np.ndarray:
    """Sentences (in `passage_sentences` order) that count what the question counts, in so many words, right after
    a sentence on its topic: "Trong visited China ... 13 cooperative agreements were signed during the visit" names
    no party, yet answers "how many agreements did Vietnam and China sign?". With `stems`, another form of the
    counted word counts too ("cooperation deals" and "cooperative agreements" share "cooper")."""
    counted = counted_words(question)
    alike = same_stem if stems else _never_alike
    out = np.zeros(len(topical), dtype=bool)
    i = sum(1 for h in {h.doc_id: h for h in reversed(hits)}.values() if h.author)  # the bylines come first
    for hit in hits:
        previous = False
        for start, end in sentence_spans(hit.text, 0, len(hit.text)):
            out[i] = previous and bool(counted) and counts_one_of(hit.text[start:end], question, counted, alike)
            previous = bool(topical[i])
            i += 1
    return out


def _never_alike(word: str, other: str) -> bool:
    """No word of like meaning: a sentence naming no party must count the asked noun in so many words."""
    return False


def named_contexts(hits: list[Hit]) -> list[str]:
    """Where each sentence of `passage_sentences` (same order) names its parties: itself, or, for a sentence that
    names no country ("13 agreements were signed by both the countries during the visit"), its passage's previous
    sentence and itself: the parties it refers back to are named there.
    """
    contexts = [f"{h.title}, by {h.author}" for h in {h.doc_id: h for h in reversed(hits)}.values() if h.author]
    for hit in hits:
        previous = ""
        for start, end in sentence_spans(hit.text, 0, len(hit.text)):
            sentence = hit.text[start:end]
            contexts.append(sentence if find_countries(sentence) else f"{previous} {sentence}".strip())
            previous = sentence
    return contexts


def _sentence_vectors(hit: Hit) -> np.ndarray:
    vectors = hit.sentence_vectors
    return vectors if vectors is not None else np.zeros((0, EMBED_DIM), dtype=np.float32)


def _topic_terms(
    question: str, idf: dict[str, float], stem: Callable[[list[str]], list[str]]
) -> dict[str, list[set[str]]]:
    """The question's topic terms (less the words that ask for a detail), each with the term sets that cover it."""
    asking = set(stem(sorted(QUESTION_WORDS | {w for d in DETAILS for w in d.words})))
    options = {t: [{t}] for t in idf if t not in asking}
    for start, end, canonical in country_mentions(question):
        country = set(stem(WORDS.findall(canonical.lower())))
        for term in stem(WORDS.findall(question[start:end].lower())):
            if term in options and {term} != country:
                options[term].append(country)
    return options


def topic_coverage(
    sentences: list[str], question: str, idf: dict[str, float], stem: Callable[[list[str]], list[str]]
) -> tuple[np.ndarray, int]:
    """Share of the question's topic each sentence contains, and how many terms make up the topic.

    The topic is the question's terms, weighted by IDF, less the words that ask for a detail. A capital
    or a leader also counts as covered by its country: "Jakarta" by a sentence naming Indonesia.
    """
    options = _topic_terms(question, idf, stem)
    total = sum(idf[t] for t in options)
    if not total:
        return np.zeros(len(sentences)), 0
    out = np.zeros(len(sentences))
    for i, sentence in enumerate(sentences):
        terms = set(stem(WORDS.findall(sentence.lower())))
        out[i] = sum(idf[t] for t, alternatives in options.items() if any(a <= terms for a in alternatives)) / total
    return out, len(options)


UNRELATED_COSINE = 0.45  # about the cosine of two unrelated single words in the embedding model


def _acronym(word: str) -> bool:
    """A short word in capitals ("TB", "OSA"): paraphrased like a common word, not matched like a name."""
    return word.isupper() and len(word) <= 5


def _common_words(text: str) -> list[str]:
    """The lower-case words of `text` (and a question's acronyms, "TB"): words whose meaning may be paraphrased.

    Names and countries are left out: their neighbours in meaning are other names ("Japan" and "Italy").
    """
    spans = [(s, e) for s, e, _ in country_mentions(text)]
    return [
        m.group(0).lower()
        for m in WORDS.finditer(text)
        if (m.group(0).islower() or _acronym(m.group(0))) and not any(s <= m.start() < e for s, e in spans)
    ]


def paraphrase_coverage(
    sentences: list[str],
    question: str,
    idf: dict[str, float],
    stem: Callable[[list[str]], list[str]],
    embed: Callable[[list[str]], np.ndarray],
    min_cosine: float,
) -> np.ndarray:
    """Like `topic_coverage`, a common word of the topic also covered by a sentence word of close meaning.

    "TB" by "tuberculosis", "talks" by "discussions": single-word embeddings, compared only between lower-case
    words (a question's acronym included), never between names.
    """
    options = _topic_terms(question, idf, stem)
    total = sum(idf[t] for t in options)
    out = np.zeros(len(sentences))
    if not total or not sentences:
        return out
    asked = {t: w for w in _common_words(question) for t in stem([w]) if t in options}
    for i, sentence in enumerate(sentences):
        terms = set(stem(WORDS.findall(sentence.lower())))
        covered = {t for t, alternatives in options.items() if any(a <= terms for a in alternatives)}
        loose = {t: w for t, w in asked.items() if t not in covered}
        words = sorted({w for w in _common_words(sentence) if len(w) >= 3})
        credit = dict.fromkeys(covered, 1.0)
        if loose and words:
            cosine = (embed(list(loose.values())) @ embed(words).T).max(axis=1)
            # Partial credit between unrelated words' cosine and `min_cosine`: "aiming" for "goal" counts in part.
            ramp = np.clip((cosine - UNRELATED_COSINE) / max(min_cosine - UNRELATED_COSINE, 1e-6), 0.0, 1.0)
            credit |= dict(zip(loose, ramp.tolist(), strict=True))
        out[i] = sum(idf[t] * c for t, c in credit.items()) / total
    return out


def names_everything_asked(
    sentences: list[str],
    question: str,
    actors: frozenset[str],
    variants: bool = True,
    written_out: Callable[[str, str], bool] | None = None,
    initials: bool = False,
) -> np.ndarray:
    """Which sentences name every country (other than the corpus's main actors) and every name the question does.

    A paraphrase ("commit" for "pledged") shares few words with its answer but names the same parties; a
    sentence about another country gives another country's date or amount. With `written_out(acronym, sentence)`,
    a short acronym ("TB") is also named by a word of like meaning ("tuberculosis"): see `meaning_of`; with
    `initials`, a two-letter one ("PM") by its words ("Prime Minister"): see `paired_initials`.
    """
    countries = set(find_countries(question)) - actors
    names = [w for w in proper_nouns(question, "", countries=False) if w not in SENTENCE_STARTERS]
    names = [n for n in names if n.casefold() not in QUESTION_WORDS | {c.casefold() for c in countries}]
    out = np.zeros(len(sentences), dtype=bool)
    for i, sentence in enumerate(sentences):
        out[i] = countries <= set(find_countries(sentence)) and all(
            named_in(n, sentence, variants)
            or (written_out is not None and _acronym(n) and written_out(n, sentence))
            or (initials and paired_initials(n, sentence))
            for n in names
        )
    return out


def paired_initials(acronym: str, sentence: str) -> bool:
    """Whether `sentence` writes a two-letter acronym out as two adjacent capitalised words: "Prime Minister" for
    "PM", "United States" for "US". (`spells_out` leaves two letters aside: in a long passage any two capitalised
    words may share them; one sentence naming the asked figure is read here.)
    """
    if len(acronym) != 2 or not acronym.isupper():
        return False
    first, second = acronym
    return re.search(rf"\b{first}[a-z]+\s+{second}[a-z]+\b", sentence) is not None


def meaning_of(embed: Callable[[list[str]], np.ndarray], min_cosine: float) -> Callable[[str, str], bool]:
    """Whether a sentence writes an acronym out in a word of like meaning ("tuberculosis" for "TB").

    Compared as the paraphrase check compares common words (single-word vectors, cached); "EDCA" finds no word
    of its meaning in a sentence about another matter.
    """

    def written_out(acronym: str, sentence: str) -> bool:
        words = sorted({w for w in _common_words(sentence) if len(w) >= 3})
        return bool(words) and float((embed([acronym.lower()]) @ embed(words).T).max()) >= min_cosine

    return written_out


def on_topic(
    sentences: list[str],
    similarity: np.ndarray,
    coverage: np.ndarray,
    question: str,
    actors: frozenset[str],
    *,
    min_coverage: float,
    min_similarity: float,
    margin: float,
    spelled: bool = True,
    written_out: Callable[[str, str], bool] | None = None,
    contexts: list[str] | None = None,
    initials: bool = False,
) -> np.ndarray:
    """Which sentences are on the question's topic, and so could give the detail it asks for.

    By words (most of the topic's terms) or by meaning (similar enough); with a `margin`, also any sentence
    nearly as similar as the best one that names all the question names (an acronym also
    in a word of like meaning, with `written_out`, or in its words, with `initials`; in the sentence's
    `contexts`, `named_contexts`, when given): the sources could give it there.
    """
    chosen = (coverage >= min_coverage) | (similarity >= min_similarity)
    if margin > 0 and len(similarity):
        near = similarity >= float(similarity.max()) - margin
        idx = np.flatnonzero(near)
        texts = contexts or sentences
        named = names_everything_asked([texts[i] for i in idx], question, actors, spelled, written_out, initials)
        chosen[idx[named]] = True
    return chosen


def missing_detail(
    question: str,
    sentences: list[str],
    on_topic: np.ndarray,
    gives: Callable[[Detail, int], bool] | None = None,
) -> Detail | None:
    """The first detail the question asks for that no on-topic sentence carries, or None.

    `gives(detail, i)`, when set, reads sentence `i` instead of `detail.carries` (`detail_reading`).
    """
    chosen = [i for i, keep in enumerate(on_topic) if keep]
    for detail in asked_details(question):
        if not any(gives(detail, i) if gives else detail.carries(sentences[i], question) for i in chosen):
            return detail
    return None


# "What was agreed at the 2024 summit?": a question in the past tense about an event of a given year.
PAST_EVENT = re.compile(
    r"\b(was|were|did|had|happened)\b.*\b(?:in|at|during|of)\s+(?:the\s+)?(?P<year>(?:19|20)\d\d)\b"
    r"|\b(?:in|at|during|of)\s+(?:the\s+)?(?P<year2>(?:19|20)\d\d)\b.*\b(was|were|did|had|happened)\b",
    re.I,
)


def reports_later_past(question: str, hits: list[Hit]) -> bool:
    """True when the question asks what happened at an event of a year after every passage's document was written:
    sources of 2023 can announce a 2024 summit, not report what it agreed."""
    match = PAST_EVENT.search(question)
    if match is None or FUTURE.search(question) or ASKS_FUTURE.search(question):  # "was Japan expected to ... in 2025"
        return False
    year = int(match.group("year") or match.group("year2"))
    written = [int(h.date[:4]) for h in hits if h.date and h.date[:4].isdigit()]
    return bool(written) and max(written) < year


def sentence_dates(hits: list[Hit]) -> list[str]:
    """The date of each sentence's document, in the order of `passage_sentences`."""
    dates = [h.date or "" for h in {h.doc_id: h for h in reversed(hits)}.values() if h.author]
    for hit in hits:
        dates += [hit.date or ""] * len(list(sentence_spans(hit.text, 0, len(hit.text))))
    return dates


def document_contexts(hits: list[Hit]) -> list[str]:
    """What each sentence of `passage_sentences` (same order) is dated and placed by: its document's dateline and
    header lines ("20 May 2023, Hiroshima", "Hosted by ..."), the dated part of its title, and its date, spoken.

    A statement's sentences are about the meeting its dateline names: "hosted by Prime Minister Albanese" answers
    who hosted the Hiroshima summit of May 2023, though the sentence names neither. The header is read from the
    document's first passage when it was retrieved.
    """
    headers = {h.doc_id: header_lines(h.text) for h in hits if h.chunk.index == 0}
    contexts = {
        h.doc_id: " ".join([*headers.get(h.doc_id, []), dated_title(h.title or ""), spoken_date(h.date or "")]).strip()
        for h in hits
    }
    out = [contexts[h.doc_id] for h in {h.doc_id: h for h in reversed(hits)}.values() if h.author]
    for hit in hits:
        out += [contexts[hit.doc_id]] * len(list(sentence_spans(hit.text, 0, len(hit.text))))
    return out


def placed_coverage(
    sentences: list[str],
    contexts: list[str],
    question: str,
    idf: dict[str, float],
    stem: Callable[[list[str]], list[str]],
) -> np.ndarray:
    """`topic_coverage` of each sentence read with its document's dateline (`document_contexts`), counted only where
    the two hold the whole topic: "the summit in Sydney in May 2023" is not placed by a dateline of Hiroshima, May
    2023; 0 elsewhere."""
    placed = [f"{c} {s}" for s, c in zip(sentences, contexts, strict=True)]
    whole = topic_coverage(placed, question, idf, stem)[0]
    return np.where(whole >= 1.0, whole, 0.0)


def detail_reading(
    question: str,
    sentences: list[str],
    dates: list[str],
    settings: Settings,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> Callable[[Detail, int], bool]:
    """Whether sentence `i` gives `detail`, read more strictly than `Detail.carries` where the rules are on.

    `figure_clause`: a figure must stand in the clause naming the question's names ("60,000 engineers" is Lam
    Research's, not Applied Materials' in the same sentence), and an amount is no count. `future_dates`: "when
    will ...?" needs a date still to come when the document was written. `office_holder`: "who is the foreign
    minister?" needs someone named with that office. `counted_cosine` (with `embed`): "how many troops" needs a
    count standing by "troops" or a word of like meaning ("soldiers"), not any figure; `counted_phrase`: in the
    count's own phrase. `date_precision`: "what month ...?" needs a month, not a year alone.
    """
    names = proper_names(question)
    # "How many yen?" asks for an amount: its figure is then the amount's, not a count apart from it.
    counts_apart = not any(d.name == "the amount" for d in asked_details(question))
    office = asked_office(question, settings.office_initials) if settings.office_holder else None
    future = settings.future_dates and bool(ASKS_FUTURE.search(question))
    counted = (
        counted_words(question, settings.counted_phrase)
        if settings.counted_cosine and embed is not None and counts_apart
        else []
    )
    precision = asked_precision(question) if settings.date_precision else None

    def alike(word: str, other: str) -> bool:
        if settings.counted_stems and same_stem(word, other):
            return True
        return embed is not None and float(embed([word])[0] @ embed([other])[0]) >= settings.counted_cosine

    def gives(detail: Detail, i: int) -> bool:
        sentence = sentences[i]
        parts = [sentence]
        if settings.figure_clause and detail.figure:
            if detail.name == "the number" and counts_apart:
                sentence = without_amounts(sentence)
            named = [c for c in clauses(sentence) if names and all(named_in(n, c) for n in names)]
            parts = named or [sentence]
        if not any(detail.carries(part, question) for part in parts):
            return False
        if (
            counted
            and detail.name == "the number"
            and not any(counts_one_of(p, question, counted, alike, settings.counted_phrase) for p in parts)
        ):
            return False
        if precision and detail.name == "the date" and not any(gives_precision(p, precision) for p in parts):
            return False
        if future and detail.name == "the date" and not gives_future_date(sentences[i], question, dates[i]):
            return False
        return not (office and detail.name == "the person" and not names_office_holder(sentences[i], office))

    return gives


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


def scoped_bylines(hits: list[Hit], scope: Scope | None) -> set[str]:
    """The byline sentences (`passage_sentences`) of the documents a question names: who wrote the one asked of."""
    if scope is None:
        return set()
    return {f"{h.title}, by {h.author}" for h in hits if h.author and h.doc_id in scope.doc_ids}


def abstention(
    query: str,
    hits: list[Hit],
    scope: Scope | None,
    settings: Settings,
    embedder: Embedder,
    retriever: Retriever,
    continues: bool = False,
    sides: bool = False,
) -> str | None:
    """What to say instead of answering, or None when the passages may answer.

    `sides`: the question compares sides (each answered from its own passages), so its names needn't meet.

    `continues`: the turn continues a conversation whose documents gave its best passage; the conversation,
    not the turn's few words ("when was that?"), makes the passages close enough. The other checks still hold.

    Abstain when no passage is close enough (no sentence similar enough, none holding a quoted phrase
    of the question, none holding the whole topic), when a country or name the question asks about appears in none
    (titles and bylines included), or when the question asks for a detail (a date, an amount...) that
    no sentence on its topic gives.
    """
    if not hits:
        return ABSTAIN_TEXT
    sentences, similarity = passage_sentences(hits, embedder.encode_cached([query])[0])
    topic = without_scope_words(query, scope_rules(settings.profile))
    coverage, topic_terms = topic_coverage(sentences, topic, retriever.idf(topic), retriever.stem)
    if settings.dateline_context:
        placed = placed_coverage(sentences, document_contexts(hits), topic, retriever.idf(topic), retriever.stem)
        coverage = np.maximum(coverage, placed)
    relevance = [h.sentence_score if h.sentence_score is not None else h.vector_score for h in hits]
    # A turn continuing the conversation ("when was that?") may share few words with its passages; the
    # conversation vouches for them when the turn asks about nothing the corpus lacks ("who won the cricket?" and
    # "did they mention whaling?" do, pointing back or not).
    vouched = continues and not retriever.unknown_terms(topic)
    best = max(r or 0.0 for r in relevance)
    close = vouched or best >= settings.abstain_below
    if not close and settings.known_terms_margin and best >= settings.abstain_below - settings.known_terms_margin:
        # Every term of the question is a corpus word: the passages are only worded differently, not off the
        # corpus ("what's the point of the low earth orbit constellation" against "...constellation for missiles").
        close = not retriever.unknown_terms(topic)
    # One sentence holding every term of the topic; a one-word topic only within a source the user named.
    whole_topic = topic_terms >= (1 if scope else 2) and float(coverage.max(initial=0.0)) >= 1.0
    quoted = set(quoted_phrases(query))
    # "Summarize the article", "the article's main argument": the source named is the topic.
    whole_source = scope is not None and (topic_terms == 0 or bool(OVERVIEW.search(query)))
    # A phrase of the question in so few passages ("the diamond hexagon thing") names what is asked, quoted or not.
    # A pair of names ("Natasha Agarwal") says who is asked about, which the name check reads; not what.
    exact = any(
        h.exact in quoted or (settings.rare_phrase_close and not retriever.names_only(h.exact)) for h in hits if h.exact
    )
    if not exact and settings.rare_name_close and not retriever.unknown_terms(topic):
        # A name few passages hold ("what is the OSA for?") is what is asked about when every other word of the
        # question is a corpus word; "what did the OSA say about whaling?" asks about what no passage holds.
        names = set(question_names(query))
        exact = any(h.exact in names for h in hits if h.exact)
    if not (close or whole_topic or whole_source or exact):
        return ABSTAIN_TEXT
    mentioned = {c for h in hits for c in h.countries}
    if any(c not in mentioned for c in find_countries(query)):
        return ABSTAIN_TEXT
    passages = " ".join(searchable_text(h) for h in hits)
    if any(
        not named_in(name, passages, settings.spelled_names)
        and not (settings.derived_names and derived_in(name, passages))
        for name in proper_names(query)
    ):
        return ABSTAIN_TEXT
    # The turn's own question only: a follow-up is read with the earlier question glued on after it.
    if settings.names_together and not sides and retriever.names_apart(query.split("?", 1)[0]):
        return ABSTAIN_TEXT
    if settings.past_events and reports_later_past(query, hits):
        return ABSTAIN_TEXT
    if settings.publisher_asked and asks_publisher(query):
        # Who published a document is in its front matter only: the asked one's, or the retrieved ones'.
        asked = [h for h in hits if scope is None or h.doc_id in scope.doc_ids] or hits
        if not any(known_publisher(h.publisher) for h in asked):
            return "The sources don't give the publisher."
    if settings.detail_check:
        written_out = (
            meaning_of(embedder.encode_cached, settings.paraphrase_cosine)
            if settings.paraphrased_acronyms and settings.paraphrase_cosine
            else None
        )
        topical = on_topic(
            sentences,
            similarity,
            coverage,
            query,
            settings.profile.actors,
            min_coverage=settings.topic_coverage,
            min_similarity=settings.topic_similarity,
            margin=settings.topic_margin,
            spelled=settings.spelled_names,
            written_out=written_out,
            contexts=named_contexts(hits) if settings.named_in_context else None,
            initials=settings.paired_initials,
        )
        if settings.scoped_byline and (bylines := scoped_bylines(hits, scope)):
            topical |= np.array([s in bylines for s in sentences], dtype=bool)
        dates = sentence_dates(hits)
        read = sentences
        if settings.dateline_context and settings.relative_dates:
            # "Today, we met for the third Quad Leaders' Summit" states its document's date.
            read = [as_dated(s, d, Dating(named_years=False)) for s, d in zip(sentences, dates, strict=True)]
        gives = detail_reading(query, read, dates, settings, embedder.encode_cached)
        detail = missing_detail(query, sentences, topical, gives)
        if detail is not None and detail.name == "the number" and settings.counted_cosine:
            topical |= counts_after_topic(hits, topical, query, settings.counted_stems)
            detail = missing_detail(query, sentences, topical, gives)
        if detail is not None and settings.paraphrase_cosine:
            more = paraphrased(sentences, similarity, topical, query, settings, embedder, retriever)
            topical |= more
            detail = missing_detail(query, sentences, topical, gives)
        if detail is not None:
            return f"The sources don't give {detail.name}."
    return None


PARAPHRASE_CANDIDATES = 8  # the most similar sentences stating an asked detail that are read word by word


def paraphrased(
    sentences: list[str],
    similarity: np.ndarray,
    topical: np.ndarray,
    query: str,
    settings: Settings,
    embedder: Embedder,
    retriever: Retriever,
) -> np.ndarray:
    """Which sentences stating an asked detail are on the topic once paraphrases count ("TB" for "tuberculosis").

    Read only where the word check found no answer, and only for the few most similar sentences stating the
    detail: the word vectors are cached, so a warm answer stays fast.
    """
    details = [d for d in asked_details(query) if d.figure]  # a name or a person must be given in so many words
    candidates = [
        i
        for i in np.argsort(-similarity, kind="stable")
        if not topical[i] and any(d.carries(sentences[i], query) for d in details)
    ]
    # A paraphrase of the topic about another country or name gives that one's detail: every name must be there.
    # The main actors count too here: "Japan's pledge to Vietnam" is not the US one's.
    named = names_everything_asked(
        [sentences[i] for i in candidates],
        query,
        frozenset(),
        settings.spelled_names,
        meaning_of(embedder.encode_cached, settings.paraphrase_cosine) if settings.paraphrased_acronyms else None,
        settings.paired_initials,
    )
    stating = [i for i, ok in zip(candidates, named, strict=True) if ok][:PARAPHRASE_CANDIDATES]
    out = np.zeros(len(sentences), dtype=bool)
    if not stating:
        return out
    topic = without_scope_words(query, scope_rules(settings.profile))
    coverage = paraphrase_coverage(
        [sentences[i] for i in stating],
        topic,
        retriever.idf(topic),
        retriever.stem,
        embedder.encode_cached,
        settings.paraphrase_cosine,
    )
    out[[i for i, c in zip(stating, coverage, strict=True) if c >= settings.topic_coverage]] = True
    return out
