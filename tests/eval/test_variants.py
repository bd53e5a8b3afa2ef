"""The variant registry: names, settings overrides and eval-only collections."""

from __future__ import annotations

import pytest

from eval.variants import VARIANTS, UnknownVariantError, resolve_variants
from rag.settings import Settings


def test_a_default_eval_measures_the_shipped_configuration_the_baselines_and_each_knob_flipped():
    base = Settings(_env_file=None)
    chosen = resolve_variants(None)

    assert chosen[0].name == "default" and not chosen[0].overrides and chosen[0].backend is None
    assert {v.kind for v in chosen} == {"engine", "vector", "bm25", "llamaindex"}  # each baseline once
    ablations = [v for v in chosen if v.kind == "engine" and v.overrides]
    assert ablations, "no ablation in the default run"
    for variant in ablations:  # one knob each, flipped from the shipped default: the figures isolate that knob
        [(knob, value)] = variant.overrides.items()
        assert bool(value) != bool(getattr(base, knob)), (variant.name, knob, value)


def test_unknown_variant_lists_the_known_ones():
    with pytest.raises(UnknownVariantError, match="chunk-400"):
        resolve_variants(["default", "chunk-999"])


def test_repeated_names_run_once_in_the_given_order():
    assert [v.name for v in resolve_variants(["bm25-only", "default", "bm25-only"])] == ["bm25-only", "default"]


def test_eval_never_uses_the_users_collection():
    base = Settings(collection="corpus", _env_file=None)
    assert {VARIANTS[name].settings(base).collection for name in VARIANTS} <= {
        "eval_c900_o150",
        "eval_c400_o66",
        "eval_c600_o100",
        "eval_c1200_o200",
    }


def test_variants_with_the_same_chunking_share_a_collection():
    base = Settings(_env_file=None)
    assert VARIANTS["default"].settings(base).collection == VARIANTS["no-country-boost"].settings(base).collection
    assert VARIANTS["chunk-600"].settings(base).chunk_overlap == 100


def test_local_variants_force_the_local_backend():
    describe = VARIANTS["local-gemma3"].describe(Settings(_env_file=None), backend="extractive")
    assert describe["backend"] == "local" and describe["overrides"] == {"local_model": "gemma3"}


def test_only_engine_variants_answer():
    assert {name for name, v in VARIANTS.items() if not v.answers} == {"vector-only", "bm25-only", "llamaindex-default"}
