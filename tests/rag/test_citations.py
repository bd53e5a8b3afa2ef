"""The citation checker reads the styles real models cite in, and lets through only what the cited passages support.

The recorded replies (tests/data/llm_replies/replies.jsonl) are hand-written in the manner of GPT-4o-mini,
Llama 3, Qwen, Mistral and Gemma over real corpus passages, each claim marked supported or planted."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from eval.replay import load_replies, passages, replay_file
from eval.runner import add_parser
from rag.answering.citations import SentenceGate, normalise_markers, split_claims
from rag.answering.extractive import Extract
from rag.answering.llm import LocalLlama, Request
from rag.answering.prompts import build_messages

ROOT = Path(__file__).resolve().parents[2]
REPLIES = ROOT / "tests" / "data" / "llm_replies" / "replies.jsonl"


@pytest.mark.parametrize(
    ("reply", "cited"),
    [
        ("Japan funds twelve patrol boats [1][2].", [(1, 2)]),
        ("Japan funds twelve patrol boats [1, 2].", [(1, 2)]),
        ("Japan funds twelve patrol boats [1-3].", [(1, 2, 3)]),
        ("Japan funds twelve patrol boats (2).", [(2,)]),
        ("Japan funds twelve patrol boats [Source 2].", [(2,)]),
        ("Japan funds twelve patrol boats 【2】.", [(2,)]),
        ("Japan funds twelve patrol boats 【2†source】.", [(2,)]),
        ("Japan funds twelve patrol boats.[2] Tokyo trains two hundred officers.[1]", [(2,), (1,)]),
        ("Japan funds twelve patrol boats. This is stated in [3].", [(3,)]),
        ("Japan funds twelve patrol boats (see [2]).", [(2,)]),
        ("According to Source 2, Japan funds twelve patrol boats.", [(2,)]),
        ("Japan funds twelve patrol boats. Tokyo trains two hundred officers every year [1].", [(1,), (1,)]),
        ("Japan funds twelve patrol boats. Tokyo trains two hundred officers.\n\n(see [1])", [(1,), (1,)]),
        ("Japan funds twelve patrol boats.\n\nSources:\n[1] Harbour pact\n[3] Island forum", [(1, 3)]),
        ("Japan funds twelve patrol boats [1]. Tokyo trains officers every single year [9].", [(1,), ()]),
        ('<source n="2" title="Harbour pact">\nJapan funds twelve patrol boats.</source>', [(2,)]),
    ],
)
def test_every_citation_style_real_models_write_covers_its_claims(reply: str, cited) -> None:
    assert [c.cited for c in split_claims(normalise_markers(reply, 3))] == cited


@pytest.mark.slow
def test_bundled_gemma_reply_is_not_cut_off_by_a_stop_sequence(make_settings) -> None:
    record = load_replies(REPLIES)[0]
    hits, question = passages(record), record["question"]
    model = LocalLlama(make_settings(local_model="gemma3", max_tokens=24))
    request = Request(question, hits, lambda compact: build_messages(question, hits, compact=compact), Extract)
    assert "".join(model.write(request)).strip()  # Gemma opens with "<source n=...": a `<source` stop emptied it


def test_a_year_or_an_enumeration_in_parentheses_is_no_citation() -> None:
    assert normalise_markers("Two aims (1) peace and (2) trade were set in 2024 (the pact year).", 3).count("[") == 0


def test_recorded_replies_keep_supported_claims_and_show_no_planted_one(embedder, make_settings) -> None:
    summary = replay_file(REPLIES, make_settings(), embedder)
    assert summary["replies"] >= 60 and summary["unsupported_claims"] >= 20
    assert summary["keep_rate"] >= 0.95, summary["misses"]
    assert summary["shown_unsupported"] == 0, summary["misses"]


def test_recorded_replies_quote_real_corpus_passages() -> None:
    def flat(text: str) -> str:
        return " ".join(re.sub(r"[*_]", "", text).split())

    for record in load_replies(REPLIES):
        for source in record["sources"]:
            assert flat(source["text"]) in flat((ROOT / "corpus" / source["doc"]).read_text()), source["text"][:60]
        for claim in record["claims"]:
            assert claim["says"] in record["reply"]


def test_an_unsupported_sentence_is_never_streamed_not_even_in_part(embedder) -> None:
    record = next(r for r in load_replies(REPLIES) if "Australia will take over" in r["reply"])
    gate = SentenceGate(passages(record), embedder, 0.55)
    shown = [gate.feed(ch) for ch in record["reply"]] + [gate.close()]
    assert "Australia" not in "".join(shown)
    assert "premier forum" in "".join(shown)
    assert gate.result.unsupported == ["They also announced that Australia will take over as IORA Chair next year."]
    first = next(i for i, piece in enumerate(shown) if piece)
    assert first < record["reply"].index("Australia"), "the first claim streamed before the reply was complete"


def test_an_abstention_after_supported_claims_ends_the_answer_without_abstaining(embedder) -> None:
    record = next(r for r in load_replies(REPLIES) if "don't mention IORA's budget" in r["reply"])
    gate = SentenceGate(passages(record), embedder, 0.55)
    gate.feed(record["reply"] + " Sri Lanka will also host the 2030 games [1].")
    gate.close()
    result = gate.result
    assert not result.abstained and result.kept == 1
    assert "budget" not in result.text and "2030" not in result.text and result.unsupported == []


def test_a_reply_that_only_abstains_abstains(embedder) -> None:
    record = load_replies(REPLIES)[0]
    gate = SentenceGate(passages(record), embedder, 0.55)
    gate.feed("The sources don't answer this.")
    gate.close()
    assert gate.result.abstained and gate.result.text == ""


def test_rag_eval_replay_reports_the_rates_without_a_model(make_settings, capsys) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["eval", "--replay", str(REPLIES), "--json"])
    assert args.run(args, make_settings()) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["keep_rate"] >= 0.95 and summary["false_support_rate"] == 0.0
