"""llama-index users compose our parts: the retriever under llama-index's query engine, our backends as its LLM,
passages as TextNodes carrying our metadata and their offsets into the documents."""

from __future__ import annotations

import pytest
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode

from ingest.loaders import load_file
from rag.engine import Engine
from rag.errors import LLMError
from rag.serving.json_forms import hit_json
from rag.serving.llamaindex import RagLLM, RagQueryEngine, RagRetriever, hit_to_node, node_to_hit
from tests.conftest import CORPUS
from tests.rag.conftest import SERVER_KEY

PLEDGE = "How much did Japan pledge to the Philippines, and by when?"


def document(doc_id: str) -> str:
    return load_file(CORPUS / doc_id, doc_id).text


def assert_is_our_passage(node) -> None:
    """A TextNode with our metadata whose offsets locate its text in its document."""
    meta = node.metadata
    assert meta["doc_id"] and meta["title"] and isinstance(meta["countries"], list)
    assert node.ref_doc_id == meta["doc_id"]
    assert document(meta["doc_id"])[node.start_char_idx : node.end_char_idx] == node.text


def test_a_passage_converts_to_a_text_node_and_back(extractive_engine: Engine) -> None:
    hits = extractive_engine.search(PLEDGE, k=3, countries=["Philippines"])
    for hit in hits:
        scored = hit_to_node(hit)
        assert scored.node.node_id == hit.chunk_id and scored.score == hit.score
        assert_is_our_passage(scored.node)
        back = node_to_hit(scored)
        assert hit_json(back) == hit_json(hit)


def test_retriever_gives_llama_index_the_engines_ranking(extractive_engine: Engine) -> None:
    nodes = RagRetriever(extractive_engine, k=4, countries=["Philippines"]).retrieve(PLEDGE)
    hits = extractive_engine.search(PLEDGE, k=4, countries=["Philippines"])
    assert [n.node.node_id for n in nodes] == [h.chunk_id for h in hits]
    assert all("Philippines" in n.node.metadata["countries"] for n in nodes)


def test_the_model_reads_a_passage_under_its_title_without_ids_or_scores(extractive_engine: Engine) -> None:
    node = hit_to_node(extractive_engine.search(PLEDGE, k=1)[0]).node
    shown = node.get_content(MetadataMode.LLM)
    assert node.metadata["title"] in shown and node.text in shown
    assert "vector_score" not in shown and node.metadata["doc_id"] not in shown


def test_query_engine_answers_with_checked_citations_on_the_extractive_backend(extractive_engine: Engine) -> None:
    response = RagQueryEngine(engine=extractive_engine).query(PLEDGE)
    assert "600 billion" in str(response) and response.metadata["abstained"] is False
    assert response.source_nodes
    for scored in response.source_nodes:
        node = scored.node
        assert_is_our_passage(node)
        meta = node.metadata
        assert f"[{meta['n']}]" in str(response)
        assert node.start_char_idx <= meta["quote_start"] < meta["quote_end"] <= node.end_char_idx
        assert document(meta["doc_id"])[meta["quote_start"] : meta["quote_end"]] == meta["quote"]


def test_the_extractive_backend_is_no_llama_index_llm(extractive_engine: Engine) -> None:
    with pytest.raises(LLMError, match="use RagQueryEngine"):
        RagLLM.from_engine(extractive_engine)


def test_llama_index_query_engine_answers_over_our_retriever_with_our_backend(make_engine, llama_server) -> None:
    engine = make_engine(
        "openai-compatible", openai_base_url=llama_server, openai_model="smollm2", openai_api_key=SERVER_KEY
    )
    llm = RagLLM.from_engine(engine)
    assert llm.metadata.model_name == "openai-compatible/smollm2"
    query_engine = RetrieverQueryEngine.from_args(RagRetriever(engine, k=3), llm=llm)
    response = query_engine.query(PLEDGE)
    assert str(response).strip()  # the bundled SmolLM2 wrote it, through llama-index's prompt
    assert len(response.source_nodes) == 3
    for scored in response.source_nodes:
        assert_is_our_passage(scored.node)
    streamed = list(llm.stream_complete("Say hello."))
    assert streamed and streamed[-1].text == "".join(chunk.delta or "" for chunk in streamed)
