"""llama-index at the edges: our retrieval as a `BaseRetriever`, passages as `TextNode`s, our backends as an LLM.

Imported only by code that wants llama-index: `import llama_index.core` takes ~1.8 s, more than the rest of a
cold `rag ask`, so the engine's own path (CLI, UI, API) never imports this module.

- `RagRetriever(engine)`: the engine's hybrid search (fusion, country filter and boost, re-rank) for any
  llama-index query or chat engine; each `NodeWithScore` holds a `TextNode` with our metadata and the
  passage's character offsets into its document (`start_char_idx`/`end_char_idx`).
- `hit_to_node` / `node_to_hit`: a passage to a `TextNode` and back.
- `RagLLM.from_engine(engine)`: the engine's LLM backend (in-process GGUF, OpenAI or any OpenAI-compatible
  server) as a llama-index `CustomLLM`.
- `RagQueryEngine(engine)`: the whole engine as a llama-index query engine, with every backend, the extractive
  one included, and its checked citations as the response's source nodes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from pydantic import ConfigDict, PrivateAttr

from rag.answer import Citation
from rag.answering.llm import LLMWriter
from rag.engine import Engine
from rag.errors import LLMError
from rag.retrieval.retrieve import Hit
from rag.serving.json_forms import hit_json

# What a node's metadata holds: the passage's source and the evidence behind its rank.
SOURCE_KEYS = ("doc_id", "title", "url", "date", "section", "page", "countries")
SIGNAL_KEYS = ("rank", "vector_score", "bm25_score", "sentence_score", "exact")
# The model reads a passage under its title, date and section; ids, links and scores would only distract it.
HIDDEN_FROM_LLM = ["doc_id", "url", "page", "countries", *SIGNAL_KEYS]


def hit_to_node(hit: Hit) -> NodeWithScore:
    """The passage as a scored `TextNode`: our metadata, its document as SOURCE, its offsets in that document."""
    form = hit_json(hit)  # the one JSON form of a hit; the node keeps its source and ranking fields
    metadata = {key: form[key] for key in (*SOURCE_KEYS, *SIGNAL_KEYS)}
    node = TextNode(
        id_=hit.chunk_id,
        text=hit.text,
        start_char_idx=hit.start,
        end_char_idx=hit.end,
        metadata=metadata,
        excluded_llm_metadata_keys=HIDDEN_FROM_LLM,
        excluded_embed_metadata_keys=HIDDEN_FROM_LLM,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.doc_id)},
    )
    return NodeWithScore(node=node, score=hit.score)


def node_to_hit(scored: NodeWithScore) -> Hit:
    """The passage a `hit_to_node` node holds."""
    node = scored.node
    if not isinstance(node, TextNode) or node.start_char_idx is None or node.end_char_idx is None:
        raise ValueError(f"node {node.node_id} is not a passage with character offsets (made by hit_to_node)")
    passage = {"chunk_id": node.node_id, "text": node.text, "start": node.start_char_idx, "end": node.end_char_idx}
    return Hit.from_dict({**node.metadata, **passage, "score": float(scored.score or 0.0)})


class RagRetriever(BaseRetriever):
    """The engine's search as a llama-index retriever: `k` passages, optionally filtered like `rag search`."""

    def __init__(
        self,
        engine: Engine,
        k: int | None = None,
        countries: list[str] | None = None,
        docs: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.engine, self.k, self.countries, self.docs = engine, k, countries, docs

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.engine.search(query_bundle.query_str, k=self.k, countries=self.countries, docs=self.docs)
        return [hit_to_node(hit) for hit in hits]


class RagLLM(CustomLLM):
    """One of our LLM backends (`local`, `openai`, `openai-compatible`) as a llama-index chat LLM."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    backend: str
    model: str
    context_window: int
    num_output: int
    _chat_model: LLMWriter = PrivateAttr()

    def __init__(self, chat_model: LLMWriter, context_window: int, num_output: int, **kwargs: Any) -> None:
        super().__init__(
            backend=chat_model.backend,
            model=chat_model.model,
            context_window=context_window,
            num_output=num_output,
            **kwargs,
        )
        self._chat_model = chat_model

    @classmethod
    def from_engine(cls, engine: Engine) -> RagLLM:
        """The engine's backend; the extractive one writes nothing from a prompt, so it raises (use RagQueryEngine)."""
        chat_model = engine.chat_model
        if not isinstance(chat_model, LLMWriter):
            raise LLMError(
                "The extractive backend has no LLM to hand to llama-index: use RagQueryEngine(engine) for its "
                "answers, or set RAG_LLM_BACKEND=local, openai or openai-compatible."
            )
        return cls(chat_model, engine.settings.local_context, engine.settings.max_tokens)

    @classmethod
    def class_name(cls) -> str:
        return "RagLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            model_name=f"{self.backend}/{self.model}",
            is_chat_model=True,  # llama-index then sends chat messages, which every backend takes as they are
        )

    def _stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        plain = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        return self._chat_model.stream(plain)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._stream(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def generate() -> ChatResponseGen:
            text = ""
            for delta in self._stream(messages):
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

        return generate()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._stream([ChatMessage(role=MessageRole.USER, content=prompt)])))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        def generate() -> CompletionResponseGen:
            text = ""
            for delta in self._stream([ChatMessage(role=MessageRole.USER, content=prompt)]):
                text += delta
                yield CompletionResponse(text=text, delta=delta)

        return generate()


class RagQueryEngine(CustomQueryEngine):
    """`Engine.ask` as a llama-index query engine: our prompt, abstention and checked citations, any backend.

    The response's source nodes are the cited passages, in citation order, each with the citation's `n`,
    `quote`, `quote_start`/`quote_end` (document offsets) and `supported` added to its metadata.
    """

    engine: Engine
    countries: list[str] | None = None
    docs: list[str] | None = None

    def custom_query(self, query_str: str) -> Response:
        answer = self.engine.ask(query_str, countries=self.countries, docs=self.docs)
        hits = {hit.chunk_id: hit for hit in answer.retrieved}
        nodes = [_cited_node(c, hits[c.chunk_id]) for c in answer.citations]
        return Response(
            response=answer.text,
            source_nodes=nodes,
            metadata={"abstained": answer.abstained, "backend": answer.backend, "model": answer.model},
        )


def _cited_node(citation: Citation, hit: Hit) -> NodeWithScore:
    scored = hit_to_node(hit)
    scored.node.metadata.update(
        n=citation.n,
        quote=citation.quote,
        quote_start=citation.quote_start,
        quote_end=citation.quote_end,
        supported=citation.supported,
    )
    scored.node.excluded_llm_metadata_keys += ["n", "quote", "quote_start", "quote_end", "supported"]
    return scored
