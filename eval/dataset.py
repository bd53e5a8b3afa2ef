"""Eval datasets: JSONL questions whose evidence strings are checked against the corpus on load."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag import RagError

log = logging.getLogger(__name__)

REQUIRED = {
    "id": str,
    "question": str,
    "reference_answer": str,
    "evidence": list,
    "answerable": bool,
    "countries": list,
}
OPTIONAL = {"key_facts": list, "type": str, "history": list}

# Typographic variants that differ between the corpus and hand-typed evidence.
_FOLDS = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u00ad": None,
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)


class DatasetError(RagError):
    """An eval dataset is malformed, or its evidence does not occur in the corpus."""


def normalize(text: str) -> str:
    """Text folded for matching: whitespace runs (incl. U+00A0), curly quotes, en/em dashes and case."""
    return " ".join(text.translate(_FOLDS).split()).casefold()


def contains_evidence(text: str, evidence: list[str] | tuple[str, ...]) -> bool:
    """True when `text` contains any of the evidence strings, after `normalize`."""
    folded = normalize(text)
    return any(normalize(e) in folded for e in evidence if e.strip())


@dataclass(frozen=True)
class Question:
    """One eval question, its reference answer, and the verbatim corpus evidence that answers it."""

    id: str
    question: str
    reference_answer: str
    evidence: tuple[str, ...]
    answerable: bool
    countries: tuple[str, ...] = ()
    key_facts: tuple[str, ...] = ()
    type: str = ""
    history: tuple[dict[str, str], ...] = field(default=(), hash=False)

    def history_list(self) -> list[dict[str, str]] | None:
        """The chat history in the messages format `Engine.ask` takes, or None."""
        return [dict(turn) for turn in self.history] or None


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    qid = raw.get("id", "?")
    for name, kind in {**REQUIRED, **OPTIONAL}.items():
        if name not in raw:
            if name in REQUIRED:
                raise DatasetError(f"{where} ({qid}): missing field {name!r}")
            continue
        if not isinstance(raw[name], kind):
            raise DatasetError(f"{where} ({qid}): {name!r} must be a {kind.__name__}, got {type(raw[name]).__name__}")
    for name in ("evidence", "countries", "key_facts"):
        if not all(isinstance(item, str) for item in raw.get(name, [])):
            raise DatasetError(f"{where} ({qid}): every item of {name!r} must be a string")
    history = raw.get("history", [])
    if not all(isinstance(t, dict) and {"role", "content"} <= t.keys() for t in history):
        raise DatasetError(f"{where} ({qid}): 'history' must be a list of {{role, content}} messages")
    question = Question(
        id=raw["id"],
        question=raw["question"],
        reference_answer=raw["reference_answer"],
        evidence=tuple(raw["evidence"]),
        answerable=raw["answerable"],
        countries=tuple(raw["countries"]),
        key_facts=tuple(raw.get("key_facts", [])),
        type=raw.get("type", ""),
        history=tuple({"role": str(t["role"]), "content": str(t["content"])} for t in history),
    )
    if question.answerable and not any(e.strip() for e in question.evidence):
        raise DatasetError(f"{where} ({qid}): answerable questions need at least one evidence string")
    if not question.answerable and question.evidence:
        raise DatasetError(f"{where} ({qid}): unanswerable questions must have no evidence")
    return question


def read_dataset(path: Path) -> list[Question]:
    """Parse a JSONL dataset and check its shape (not its evidence; see `load_dataset`)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(
            f"Cannot read dataset {path}: {exc.strerror}. Pass --dataset eval/datasets/dev.jsonl"
        ) from None
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        question = _question(raw, where)
        if question.id in seen:
            raise DatasetError(f"{where}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise DatasetError(f"{path} holds no questions")
    return questions


def corpus_texts(corpus_dir: Path) -> dict[str, str]:
    """doc_id -> text of every corpus file, as the ingest pipeline loads it (the text chunks come from)."""
    from ingest.loaders import SkippedFile, load_file
    from ingest.pipeline import discover

    files, _ = discover([Path(corpus_dir)], Path(corpus_dir))
    texts = {}
    for source in files:
        try:
            texts[source.doc_id] = load_file(source.path, source.doc_id).text
        except SkippedFile as exc:
            log.warning("evidence check skips %s", exc)
    return texts


def missing_evidence(questions: list[Question], texts: dict[str, str]) -> list[tuple[str, str]]:
    """(question id, evidence string) for every evidence string no corpus text contains."""
    folded = [normalize(text) for text in texts.values()]
    return [(q.id, e) for q in questions for e in q.evidence if not any(normalize(e) in text for text in folded)]


def load_dataset(path: Path, corpus_dir: Path) -> list[Question]:
    """Questions from a JSONL file; raises DatasetError unless every evidence string occurs in the corpus."""
    questions = read_dataset(path)
    texts = corpus_texts(corpus_dir)
    if not texts:
        raise DatasetError(f"No corpus files under {corpus_dir}; set RAG_CORPUS_DIR to the corpus folder.")
    missing = missing_evidence(questions, texts)
    if missing:
        listed = "\n".join(f"  {qid}: {text!r}" for qid, text in missing)
        raise DatasetError(
            f"{len(missing)} evidence string(s) in {path} do not occur in any file under {corpus_dir}:\n{listed}\n"
            "Copy each one verbatim from the corpus (whitespace, quote and dash styles and case are ignored)."
        )
    return questions
