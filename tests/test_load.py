"""Many clients at once through the `ask` API, with an ingest running under them: no errors, no bad answers.

Nothing here asserts on timings (the machine is shared); `python -m benchmarks.load` prints those.
The fixtures live here rather than in tests/conftest.py because only this module uses them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from gradio_client import Client

from benchmarks.load import (
    NEEDLE_DOC,
    NEEDLE_FACT,
    NEEDLE_QUESTION,
    LoadReport,
    answer_problem,
    run_load,
    write_extra_documents,
)
from rag.engine import Engine
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.store import Store
from tests.conftest import TINY_CORPUS, serve

pytestmark = pytest.mark.slow  # see README, Tests

CLIENTS = 16
EXTRA_CHUNKS = 20  # what is ingested while the clients ask
QUESTIONS: list[tuple[str, list[str] | None]] = [
    ("How many patrol boats will Japan fund for the Philippine Coast Guard?", None),
    ("Where will the solar microgrids be installed?", None),
    ("How many mangrove trees will the river commission plant?", None),
    ("What interest rate will the regional green bank charge?", ["Australia"]),
    ("How often do the water-level gauges report?", ["Vietnam", "Cambodia"]),
    ("Who won the 2022 FIFA World Cup?", None),  # abstains: a valid answer too
    ("What did Japan and the Philippines sign in Manila?", ["Philippines"]),
]


@pytest.fixture(scope="module")
def load_engine(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings], embedder: Embedder
) -> Engine:
    """An extractive engine over its own copy of the tiny corpus, ingested."""
    base = tmp_path_factory.mktemp("load")
    shutil.copytree(TINY_CORPUS, base / "corpus")
    settings = make_settings(
        corpus_dir=base / "corpus", store_dir=base / "store", collection="load_tests", llm_backend="extractive"
    )
    engine = Engine(settings, Store(settings), embedder, "extractive")
    engine.ingest()
    return engine


@pytest.fixture(scope="module")
def load_url(load_engine: Engine) -> Iterator[str]:
    """The app over `load_engine`, served on a free loopback port as `python ui.py` serves it."""
    app, url = serve(load_engine, load_engine.settings)
    yield url
    app.close()


@dataclass
class LoadRun:
    """One load run with an ingest under it, and the answers to a question only the ingested files answer."""

    report: LoadReport
    needle_before: dict[str, Any]
    needle_after: dict[str, Any]


@pytest.fixture(scope="module")
def load_run(load_engine: Engine, load_url: str) -> LoadRun:
    """CLIENTS clients ask while EXTRA_CHUNKS chunks of new documents are ingested, and before and after."""
    client = Client(load_url, verbose=False)
    before = client.predict(NEEDLE_QUESTION, None, api_name="/ask")
    extra = write_extra_documents(load_engine.settings.corpus_dir / "extra", EXTRA_CHUNKS)
    report = run_load(
        load_url,
        lambda: load_engine.ingest([extra]).embedded,
        QUESTIONS,
        CLIENTS,
        in_process=True,
    )
    after = client.predict(NEEDLE_QUESTION, None, api_name="/ask")
    return LoadRun(report, before, after)


def test_every_concurrent_request_gets_a_valid_answer(load_run: LoadRun) -> None:
    requests = load_run.report.requests

    assert [r.problem for r in requests if r.problem] == []
    assert len(requests) >= CLIENTS  # every client got at least one answer
    assert any(not r.abstained for r in requests)


def test_queries_in_flight_during_an_ingest_all_succeed(load_run: LoadRun) -> None:
    report = load_run.report
    during = report.during_ingest()

    assert report.ingest_chunks >= EXTRA_CHUNKS
    assert during, "no request was in flight while the ingest ran"
    assert [r.problem for r in during if r.problem] == []
    assert any(not r.abstained for r in during)


def test_content_ingested_under_load_is_answerable_right_after(load_run: LoadRun) -> None:
    assert load_run.needle_before["abstained"]  # the question really is about the new documents

    after = load_run.needle_after
    assert answer_problem(after) is None
    assert not after["abstained"]
    assert NEEDLE_FACT in after["answer"]
    assert any(c["doc_id"].endswith(NEEDLE_DOC) for c in after["citations"])
