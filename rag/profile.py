"""The corpus profile: what the engine knows of one corpus (its topic, main actors, UI words), from a YAML file.

It lives in the corpus folder (`<corpus_dir>/profile.yaml`, or wherever RAG_PROFILE points), so pointing
RAG_CORPUS_DIR at another corpus changes these words with it. Without a file the profile is neutral.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from rag.answering.prompts import NEUTRAL_TOPIC
from rag.errors import RagError

log = logging.getLogger(__name__)

PROFILE_FILE = "profile.yaml"  # in the corpus folder; ingest skips it (ingest/pipeline.py, CORPUS_NOTES)


class ProfileError(RagError):
    """The corpus profile can't be read or doesn't fit the schema; the message names the file and the field."""


class UIProfile(BaseModel):
    """What the browser UI says about the corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Cited answers"
    intro: str = "Ask about the documents; every answer cites the passages it rests on."
    examples: tuple[str, ...] = ()
    placeholder: str = "Ask a question about the documents"  # in the empty question box


class SourceRule(BaseModel):
    """A kind of source a question can name: questions matching `cue` (any case) are limited to the documents
    whose metadata `field` matches `value` ("the White House" -> publisher "White House")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    cue: str  # a regular expression
    field: str
    value: str  # a regular expression; "(?i)" for any case

    @field_validator("cue", "value")
    @classmethod
    def _regex(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return pattern


class Profile(BaseModel):
    """One corpus's words for the engine: unknown keys are errors, so a typo can't pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "the corpus"
    # The system prompt says "You answer questions about {topic} using ONLY the numbered sources ...".
    topic: str = NEUTRAL_TOPIC
    # What the corpus holds, for clients choosing a tool: "Cited answers about {topic} from {contents}."
    contents: str = "a fixed set of documents"
    # The country the corpus is about: a list of countries never offers it as an item.
    subject: str | None = None
    # The countries that act in most passages (the subject among them): a question naming only these is
    # not about a country, and a follow-up naming one keeps the earlier question's country.
    actors: frozenset[str] = frozenset()
    # The corpus's primary document (its file name), when the others relate to it: an answer citing a source
    # dated after it says so.
    primary: str | None = None
    # The corpus's own kinds of source a question may name, tried in order after "the article"/"the author".
    sources: tuple[SourceRule, ...] = ()
    ui: UIProfile = UIProfile()

    @field_validator("subject")
    @classmethod
    def _canonical_subject(cls, name: str | None) -> str | None:
        return None if name is None else _canonical(name)

    @field_validator("actors")
    @classmethod
    def _canonical_actors(cls, names: frozenset[str]) -> frozenset[str]:
        return frozenset(_canonical(name) for name in names)


def _canonical(name: str) -> str:
    """The canonical country name the engine compares with ("USA" -> "United States"); unknown names fail."""
    from ingest.countries import canonical_country

    canonical = canonical_country(name)
    if canonical is None:
        raise ValueError(f"{name!r} is not a country or grouping the engine knows (e.g. 'Japan', 'ASEAN')")
    return canonical


def load_profile(path: Path) -> Profile:
    """The profile in `path`; neutral defaults when there is no such file; ProfileError when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.info("no corpus profile at %s; using neutral defaults", path)
        return Profile()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"Cannot read the corpus profile {path}: {exc}. Fix it, or set RAG_PROFILE.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"The corpus profile {path} is not valid YAML: {exc}") from exc
    except RecursionError:
        raise ProfileError(f"The corpus profile {path} is nested too deep to read; fix it.") from None
    if data is None:
        return Profile()
    if not isinstance(data, dict):
        raise ProfileError(f"The corpus profile {path} must be a mapping (name:, topic:, actors:, ui:).")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"The corpus profile {path} has errors: {problems}") from exc


def current_profile(path: Path) -> Profile:
    """`load_profile(path)`, cached until the file changes (Settings reads it on every question)."""
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:  # missing (neutral) or unreadable (load_profile says why)
        version = None
    return _cached(path.resolve(), version)


@lru_cache(maxsize=16)
def _cached(path: Path, version: tuple[int, int] | None) -> Profile:
    return load_profile(path)
