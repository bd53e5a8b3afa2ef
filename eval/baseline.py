"""The baseline: llama-index's plain default pipeline (VectorStoreIndex, SentenceSplitter, top-2), no LLM.

It reads the corpus through our own loaders so both pipelines see identical text (front matter
stripped, PDFs and DOCX readable without llama-index-readers-file); everything after that is
llama-index's defaults, embedded with the same bundled all-MiniLM-L6-v2.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument
from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from pydantic import PrivateAttr

from eval.pipeline import Ranked
from rag import Answer, Embedder

log = logging.getLogger(__name__)


class MiniLMEmbedding(BaseEmbedding):
    """llama-index embedding adapter around our offline `Embedder` (no hub, no network, no OpenAI)."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2", embed_batch_size=embedder.batch_size, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.encode([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.encode(texts).tolist()


def corpus_documents(corpus_dir: Path) -> list[LlamaDocument]:
    """The corpus as llama-index Documents, with the `file_name` metadata SimpleDirectoryReader would set."""
    from eval.dataset import corpus_texts

    return [
        LlamaDocument(text=text, id_=doc_id, metadata={"file_name": doc_id})
        for doc_id, text in corpus_texts(corpus_dir).items()
    ]


class LlamaIndexPipeline:
    """An in-memory VectorStoreIndex over the corpus: retrieval metrics only (there is no LLM)."""

    answers = False

    def __init__(self, index: VectorStoreIndex, top_k: int) -> None:
        self.index = index
        self.retriever = index.as_retriever(similarity_top_k=top_k)

    @classmethod
    def from_corpus(cls, corpus_dir: Path, embedder: Embedder, top_k: int) -> LlamaIndexPipeline:
        """Split and embed the corpus with llama-index's defaults (SentenceSplitter: 1024 tokens, 200 overlap)."""
        index = VectorStoreIndex.from_documents(
            corpus_documents(corpus_dir),
            transformations=[SentenceSplitter()],
            embed_model=MiniLMEmbedding(embedder),
        )
        return cls(index, top_k)

    def ask(self, question: str, history: list[dict[str, str]] | None) -> Answer:
        """Not supported: the baseline has no LLM."""
        raise NotImplementedError("llamaindex-default is a retrieval-only variant")

    def rank(
        self, query: str, depth: int, countries: list[str] | None = None, prefer: dict[str, float] | None = None
    ) -> list[Ranked]:
        """Its own top-k (2), whatever `depth` asks: that is what the default pipeline retrieves."""
        return [
            Ranked(
                rank, hit.node.node_id, hit.node.ref_doc_id or "", hit.node.get_content(), round(hit.score or 0.0, 6)
            )
            for rank, hit in enumerate(self.retriever.retrieve(query), start=1)
        ]

    def chunk_texts(self) -> list[str]:
        """Every node in the index."""
        return [node.get_content() for node in self.index.docstore.docs.values()]
