"""The chunk record's store encoding, both ways, and `Source`, the passage type hits and citations share.

Chroma metadata is flat (strings, numbers, booleans), so a `Chunk` is stored as:
- its offsets, section, page and document fields (title, url, date...), as they are;
- its countries twice: `countries` ("A; B", read back as a list) and a `country_<Name>: True` flag per
  country (what a `where` filter can test);
- its document's version: `doc_hash`, the chunking `fingerprint`, `doc_chunks` (how many chunks the
  document has; 0 marks a RETIRED chunk awaiting deletion) and the `root` it was synced under;
- its content sentences' vectors, packed into one string (`sentence_vectors`).
This module is the only one that knows those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ingest.chunking import Chunk
from ingest.countries import country_key
from ingest.pipeline import Version
from rag.storage.embeddings import pack_vectors, unpack_vectors

SENTENCE_VECTORS = "sentence_vectors"  # chunk metadata: its content sentences' vectors, packed
# A chunk left over from a document's previous, longer version is rewritten with `doc_chunks: 0` in the
# same upsert that writes the new version (so no reader sees a mix of versions), then deleted.
RETIRED = {"doc_chunks": 0}
_CHUNK_KEYS = {"doc_id", "chunk_index", "start", "end", "section", "page", "countries", SENTENCE_VECTORS}
_VERSION_KEYS = {"doc_chunks", "doc_hash", "fingerprint", "root"}


def encode(chunk: Chunk, version: Version, sentence_vectors: np.ndarray) -> dict[str, Any]:
    """Flat Chroma metadata for one chunk of `version`, with a `country_<Name>: True` flag per country."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "chunk_index": chunk.index,
        "doc_chunks": version.chunks,
        "doc_hash": version.doc_hash,
        "fingerprint": version.fingerprint,
        "root": version.root,
        "start": chunk.start,
        "end": chunk.end,
        "section": chunk.section,
        "countries": "; ".join(chunk.countries),
        **chunk.metadata,
        **{country_key(name): True for name in chunk.countries},
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    meta[SENTENCE_VECTORS] = pack_vectors(sentence_vectors)
    return meta


def decode(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """The `Chunk` a stored record holds (its document fields included)."""
    page = meta.get("page")
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc_id(chunk_id, meta),
        index=int(meta.get("chunk_index", -1)),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        section=str(meta.get("section", "")),
        page=int(page) if page is not None else None,
        countries=tuple(countries(meta)),
        metadata=document_fields(meta),
    )


def version(meta: dict[str, Any]) -> tuple[Version, int]:
    """The document version a stored chunk belongs to, and the chunk's index in it (-1 when unknown)."""
    stored = Version(
        doc_hash=str(meta.get("doc_hash")),
        fingerprint=str(meta.get("fingerprint")),
        chunks=int(meta.get("doc_chunks", -1)),
        root=str(meta.get("root", "")),
    )
    return stored, int(meta.get("chunk_index", -1))


def doc_id(chunk_id: str, meta: dict[str, Any]) -> str:
    """The chunk's document id (chunk ids are `doc_id#index`)."""
    return str(meta.get("doc_id", chunk_id.rsplit("#", 1)[0]))


def countries(meta: dict[str, Any]) -> list[str]:
    """The canonical country names a chunk mentions."""
    return [name for name in str(meta.get("countries", "")).split("; ") if name]


def mentions(meta: dict[str, Any], country: str) -> bool:
    """Whether the chunk mentions `country` (a canonical name), by its flag."""
    return bool(meta.get(country_key(country)))


def document_fields(meta: dict[str, Any]) -> dict[str, str]:
    """The chunk's document fields (title, url, date, author, publisher, kind...), without the chunk's own."""
    return {
        k: v
        for k, v in meta.items()
        if k not in _CHUNK_KEYS and k not in _VERSION_KEYS and not k.startswith("country_")
    }


def sentence_vectors(meta: dict[str, Any]) -> np.ndarray | None:
    """The chunk's content-sentence vectors; None for a chunk stored before ingest kept them."""
    packed = meta.get(SENTENCE_VECTORS)
    return None if packed is None else unpack_vectors(str(packed))


def without_vectors(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata without the packed sentence vectors (what is worth keeping in memory)."""
    return {k: v for k, v in meta.items() if k != SENTENCE_VECTORS}


def is_retired(meta: dict[str, Any] | None) -> bool:
    """True for a chunk of a document's previous version that awaits deletion; readers skip it."""
    return (meta or {}).get("doc_chunks") == 0


def country_where(names: list[str], doc_ids: list[str] | tuple[str, ...] | None = None) -> dict | None:
    """A Chroma `where` keeping chunks that mention any of `names` (and, given `doc_ids`, of those documents)."""
    clauses: list[dict] = [{country_key(c): True} for c in names]
    where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$or": clauses}
    if doc_ids is None:
        return where
    in_docs = {"doc_id": {"$in": list(doc_ids)}}
    return in_docs if where is None else {"$and": [where, in_docs]}


@dataclass
class Source:
    """Where a passage comes from: what a retrieved hit and a citation both name."""

    chunk_id: str
    doc_id: str
    title: str
    url: str
    date: str
    page: int | None

    def source_fields(self) -> dict[str, Any]:
        """Just the `Source` fields, to make another kind of source (a citation of this hit) from."""
        return {f.name: getattr(self, f.name) for f in fields(Source)}


@dataclass(frozen=True)
class StoredChunk(Chunk):
    """A chunk read back from the store, with its content sentences' vectors as ingest packed them."""

    packed_vectors: str | None = field(default=None, repr=False, compare=False)

    @property
    def sentence_vectors(self) -> np.ndarray | None:
        """Its content sentences' vectors (None: stored before ingest kept them)."""
        return None if self.packed_vectors is None else unpack_vectors(self.packed_vectors)


def stored_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    """The chunk a stored record holds, with its packed sentence vectors: what the store's reads return."""
    packed = meta.get(SENTENCE_VECTORS)
    return StoredChunk(**vars(decode(chunk_id, text, meta)), packed_vectors=None if packed is None else str(packed))


def _chunk_field(name: str) -> property:
    """A hit's read-only view of one of its chunk's fields."""
    return property(lambda hit: getattr(hit.chunk, name), doc=f"The chunk's `{name}`.")


def _document_field(name: str) -> property:
    """A hit's read-only view of one of its document's fields ("" when the document has none)."""
    return property(lambda hit: str(hit.chunk.metadata.get(name, "")), doc=f"The document's `{name}`.")


@dataclass
class Hit:
    """One retrieved chunk with its rank, its fused score and the evidence behind it."""

    chunk: Chunk
    rank: int
    score: float
    vector_score: float | None = None
    bm25_score: float | None = None
    sentence_score: float | None = None  # cosine of the question and the chunk's best-matching sentence
    exact: str | None = None  # a quoted phrase or rare n-gram of the question that the chunk contains verbatim

    # The chunk's fields and its document's, read through the hit (none is copied into it).
    chunk_id, doc_id, text, start, end, section, page = map(
        _chunk_field, ("chunk_id", "doc_id", "text", "start", "end", "section", "page")
    )
    title, url, date, author, publisher = map(_document_field, ("title", "url", "date", "author", "publisher"))

    @property
    def countries(self) -> list[str]:
        return list(self.chunk.countries)

    @property
    def metadata(self) -> dict[str, str]:
        """Its document's fields (title, url, date, author, publisher, kind...)."""
        return self.chunk.metadata

    @property
    def sentence_vectors(self) -> np.ndarray | None:
        """Its content sentences' vectors as ingest stored them (None: stored before it did, or not from the store)."""
        return self.chunk.sentence_vectors if isinstance(self.chunk, StoredChunk) else None

    def source_fields(self) -> dict[str, Any]:
        """Just the `Source` fields, to make another kind of source (a citation of this hit) from."""
        return {f.name: getattr(self, f.name) for f in fields(Source)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hit:
        """The hit back from its JSON form (rag/serving/json_forms.py: a saved conversation, a llama-index node)."""
        chunk_id = str(data["chunk_id"])
        chunk = Chunk(
            chunk_id=chunk_id,
            doc_id=doc_id(chunk_id, data),
            index=-1,
            text=str(data["text"]),
            start=int(data["start"]),
            end=int(data["end"]),
            section=str(data.get("section", "")),
            page=data.get("page"),
            countries=tuple(data.get("countries", ())),
            metadata={key: str(data.get(key, "")) for key in ("title", "url", "date")},
        )
        signals = ("vector_score", "bm25_score", "sentence_score", "exact")
        return cls(chunk, int(data.get("rank", 0)), float(data.get("score", 0.0)), *(data.get(k) for k in signals))


def keyword_fields(chunk: Chunk) -> list[str]:
    """What keyword search reads besides the text: its document's title, the section, byline, publisher and date."""
    fields = {**chunk.metadata, "section": chunk.section}
    return [str(fields.get(key, "")) for key in ("title", "section", "author", "publisher", "date")]


def title(fields: dict[str, Any]) -> str:
    """A document's title, from its fields."""
    return str(fields.get("title", ""))


def date(fields: dict[str, Any]) -> str:
    """A document's date (ISO, as its front matter gives it), from its fields."""
    return str(fields.get("date", ""))


def author(fields: dict[str, Any]) -> str:
    """A document's author (its byline), from its fields; "" when it names none."""
    return str(fields.get("author", ""))


def kind(fields: dict[str, Any]) -> str:
    """A document's kind ("article"), from its fields; "" when it gives none."""
    return str(fields.get("kind", ""))
