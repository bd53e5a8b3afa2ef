"""Thumbs up/down on answers, kept as JSONL, and the disliked ones turned into eval cases for a person to confirm.

Every rating is one JSON line appended to `RAG_FEEDBACK_FILE`. Lines from concurrent writers (UI workers, several
processes) never interleave: each is written with a single write() on an O_APPEND descriptor while holding a file
lock, since a line may be longer than the size the kernel writes atomically.

`eval_case` writes the eval dataset's row format (eval/dataset.py) without importing it: rag/ never imports eval/.
Fields the dataset does not know (`candidate_evidence`, `feedback`) are ignored by `rag eval`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ingest.countries import find_countries
from rag.errors import RagError
from rag.serving.json_forms import answer_json

if TYPE_CHECKING:
    from rag.answer import Answer

RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
CLOSEST_PASSAGES = 3  # candidate evidence for an answer that cited nothing
LOCK_TIMEOUT_S = 30

CASE_TYPE = "feedback"


class FeedbackError(RagError):
    """A rating, comment or feedback file that can't be used; the message says what to fix."""


def feedback_record(
    answer: Answer,
    rating: str,
    history: Sequence[dict[str, str]] | None = None,
    comment: str = "",
    when: datetime | None = None,
) -> dict[str, Any]:
    """The line stored for one rating: question, history, answer, citations, backend, rating, comment and time."""
    if rating not in RATINGS:
        raise FeedbackError(f"A rating is 'up' or 'down'; got {rating!r}.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise FeedbackError(f"The comment is {len(comment):,} characters; the limit is {MAX_COMMENT_CHARS:,}.")
    data = answer_json(answer)
    return {
        "time": (when or datetime.now(UTC)).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": comment,
        "question": data["question"],
        "standalone_question": data.get("search_query") or data.get("standalone_question") or data["question"],
        "history": [{"role": str(t["role"]), "content": str(t["content"])} for t in history or []],
        "answer": data["text"],
        "abstained": bool(data.get("abstained")),
        "citations": data.get("citations", []),
        # The closest passages, so an answer that cited nothing still leaves evidence to confirm.
        "retrieved": [
            {k: hit[k] for k in ("chunk_id", "doc_id", "title", "url", "date", "text", "start", "end")}
            for hit in data.get("retrieved", [])[:CLOSEST_PASSAGES]
        ],
        "backend": data.get("backend", ""),
        "model": data.get("model", ""),
        "countries": data.get("countries", []),
        "docs": data.get("docs", []),
    }


def append_line(path: Path, record: dict[str, Any]) -> None:
    """Append `record` as one JSON line; concurrent appenders, in any process, never interleave."""
    from filelock import FileLock, Timeout

    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_S):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
                if written != len(line):  # a full disk: leave no half line for the next writer to follow
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
                    raise OSError(28, "No space left on device (short write)")
            finally:
                os.close(fd)
    except Timeout:
        raise FeedbackError(f"{path}.lock stayed locked for {LOCK_TIMEOUT_S} s; is another writer stuck?") from None
    except OSError as exc:
        raise FeedbackError(f"Cannot write feedback to {path}: {exc.strerror}. Set RAG_FEEDBACK_FILE.") from None


def record_feedback(
    path: Path,
    answer: Answer,
    rating: str,
    history: Sequence[dict[str, str]] | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """Store one rating of `answer` in the feedback file; returns the stored record."""
    record = feedback_record(answer, rating, history, comment)
    append_line(path, record)
    return record


class FeedbackLines(NamedTuple):
    """The usable ratings of a feedback file, oldest first, and what was skipped (each names its line)."""

    records: list[dict[str, Any]]
    skipped: list[str]


def read_feedback(path: Path) -> FeedbackLines:
    """Every usable rating, oldest first; a missing file holds none.

    A damaged line (not UTF-8, not JSON, not a rating record) is skipped and reported with its line number
    rather than failing the whole file: one bad line must not cost every other rating.
    """
    try:
        lines = Path(path).read_bytes().split(b"\n")
    except FileNotFoundError:
        return FeedbackLines([], [])
    except OSError as exc:
        raise FeedbackError(f"Cannot read feedback file {path}: {exc.strerror}.") from None
    records, skipped = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        problem = None
        try:
            record = json.loads(raw.decode("utf-8"))
            problem = _rating_problem(record)
        except UnicodeDecodeError:
            problem = "is not UTF-8 text"
        except json.JSONDecodeError as exc:
            problem = f"is not JSON ({exc.msg})"
        except RecursionError:
            problem = "is JSON nested too deep"
        if problem:
            skipped.append(f"{path}:{number} {problem}")
        else:
            records.append(record)
    return FeedbackLines(records, skipped)


def _rating_problem(record: Any) -> str | None:
    """Why `record` is no usable rating (None: it is one)."""
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not a rating record (an object)"
    if record.get("rating") not in RATINGS:
        return "has no rating ('up' or 'down')"
    if not isinstance(record.get("question"), str) or not record["question"].strip():
        return "has no question"
    try:
        eval_case(record)  # what an export will do with it: every field it reads must be there
    except KeyError as exc:
        return f"lacks the field {exc.args[0]!r}"
    except (TypeError, AttributeError, ValueError):
        return "has a field of the wrong type"
    return None


def case_id(record: dict[str, Any]) -> str:
    """A stable id for the question and history rated: the same question disliked twice is one case."""
    key = json.dumps([record["question"], record.get("history", [])], ensure_ascii=False)
    return f"feedback-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"


def _candidates(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The spans the answer cited (each claim's own quote), else its closest passages: evidence to confirm."""
    found: dict[tuple[str, int, int], dict[str, Any]] = {}
    for citation in record.get("citations", []):
        for quote in citation.get("quotes") or [citation]:
            key = (citation["doc_id"], quote["quote_start"], quote["quote_end"])
            found.setdefault(
                key,
                {
                    "text": quote["quote"],
                    "title": citation.get("title", ""),
                    "doc_id": citation["doc_id"],
                    "start": quote["quote_start"],
                    "end": quote["quote_end"],
                    "cited_as": citation["n"],
                },
            )
    if not found:
        for hit in record.get("retrieved", []):
            key = (hit["doc_id"], hit["start"], hit["end"])
            found.setdefault(
                key,
                {
                    "text": hit["text"],
                    "title": hit.get("title", ""),
                    "doc_id": hit["doc_id"],
                    "start": hit["start"],
                    "end": hit["end"],
                    "cited_as": None,
                },
            )
    return list(found.values())


def eval_case(record: dict[str, Any]) -> dict[str, Any]:
    """A disliked answer as an eval dataset row, unconfirmed: no reference answer and no evidence yet.

    `rag eval` refuses an answerable row without evidence, so an unconfirmed case can't be scored by mistake.
    """
    return {
        "id": case_id(record),
        "question": record["question"],
        "reference_answer": "",
        "evidence": [],
        "answerable": True,
        "countries": find_countries(record.get("standalone_question") or record["question"]),
        "key_facts": [],
        "type": CASE_TYPE,
        "history": record.get("history", []),
        "candidate_evidence": _candidates(record),
        "feedback": {
            "time": record.get("time", ""),
            "comment": record.get("comment", ""),
            "answer": record.get("answer", ""),
            "abstained": record.get("abstained", False),
            "backend": record.get("backend", ""),
            "model": record.get("model", ""),
        },
    }


def disliked_cases(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One eval case per question rated down (its latest rating), in the order first rated."""
    cases: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("rating") == "down":
            cases.pop(case_id(record), None)  # the latest comment and answer win
            cases[case_id(record)] = eval_case(record)
    return list(cases.values())


def to_fill_in(case: dict[str, Any]) -> list[str]:
    """What a person must still do before `rag eval` can score `case` (nothing: it is confirmed)."""
    todo = []
    if not str(case.get("reference_answer", "")).strip():
        todo.append("write reference_answer")
    if case.get("answerable", True) and not case.get("evidence"):
        todo.append(
            f"copy the right spans from candidate_evidence ({len(case.get('candidate_evidence', []))}) into "
            "evidence, verbatim, or set answerable to false if the corpus does not answer"
        )
    return todo


def read_cases(path: Path) -> list[dict[str, Any]]:
    """The rows of an existing dataset file (to keep a person's edits when exporting again)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FeedbackError(f"{path} is not UTF-8 text; export to another file.") from None
    except OSError as exc:
        raise FeedbackError(f"Cannot read {path}: {exc.strerror}; export to another file.") from None
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FeedbackError(f"{path}:{number} is not JSON ({exc.msg}); fix it or export to another file.") from None
        except RecursionError:
            raise FeedbackError(f"{path}:{number} is JSON nested too deep; fix it or export to another file.") from None
        if not isinstance(case, dict) or not isinstance(case.get("id"), str):
            raise FeedbackError(f"{path}:{number} is no dataset row (an object with an id); export to another file.")
        cases.append(case)
    return cases


def export_cases(feedback: Path, out: Path) -> tuple[list[dict[str, Any]], int, list[str]]:
    """Write the disliked answers to `out` as eval cases; returns (every case in `out`, how many are new, the
    feedback lines skipped as unusable).

    Cases already in `out` are kept as they are, so re-exporting never loses confirmed work.
    """
    if out.is_dir():
        raise FeedbackError(f"{out} is a folder; name the file to write, e.g. --out {out / 'feedback-cases.jsonl'}.")
    kept = read_cases(out) if out.exists() else []
    known = {case["id"] for case in kept}
    records, skipped = read_feedback(feedback)
    new = [case for case in disliked_cases(records) if case["id"] not in known]
    cases = kept + new
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    except OSError as exc:
        raise FeedbackError(f"Cannot write {out}: {exc.strerror}.") from None
    return cases, len(new), skipped
