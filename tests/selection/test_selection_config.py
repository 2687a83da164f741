"""Every config error names its JSON path in one sentence; the seed configs parse (strength
given in the strategy or next to it) and state what data they need."""

from __future__ import annotations

import pytest

from curation.selection import ConfigError, parse_config

EMB = {"type": "EMBEDDINGS"}
DIV = {"input": EMB, "strategy": {"type": "DIVERSITY"}}


def cfg(*strategies, **top):
    top = top or {"n_samples": 3}
    return {**top, "strategies": list(strategies)}


@pytest.mark.parametrize(
    ("config", "path", "words"),
    [
        ({"strategies": [DIV]}, "n_samples", "exactly one of"),
        (
            {"n_samples": 2, "proportion_samples": 0.5, "strategies": [DIV]},
            "n_samples",
            "exactly one of",
        ),
        (cfg(DIV, n_samples=0), "n_samples", ">= 1"),
        (cfg(DIV, n_samples=-3), "n_samples", ">= 1"),
        (cfg(DIV, n_samples=2.5), "n_samples", "integer"),
        (cfg(DIV, n_samples=True), "n_samples", "integer"),
        (cfg(DIV, proportion_samples=0), "proportion_samples", "> 0"),
        (cfg(DIV, proportion_samples=1.5), "proportion_samples", "<= 1"),
        ({"n_samples": 1, "strategies": []}, "strategies", "non-empty"),
        ({"n_samples": 1}, "strategies", "required"),
        ({"n_samples": 1, "strategies": [DIV], "extra": 1}, "extra", "unknown field"),
        (cfg({"input": EMB}), "strategies[0].strategy", "required"),
        (
            cfg({"input": {"type": "PIXELS"}, "strategy": {"type": "DIVERSITY"}}),
            "strategies[0].input.type",
            "must be one of EMBEDDINGS",
        ),
        (
            cfg(DIV, {"input": EMB, "strategy": {"type": "CLUSTER"}}),
            "strategies[1].strategy.type",
            "must be one of DIVERSITY",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "DIVERSITY", "foo": 1}}),
            "strategies[0].strategy.foo",
            "unknown field",
        ),
        (
            cfg(
                {"input": {"type": "EMBEDDINGS", "colour": "x"}, "strategy": {"type": "DIVERSITY"}}
            ),
            "strategies[0].input.colour",
            "unknown field",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "WEIGHTS"}}),
            "strategies[0].input.type",
            "WEIGHTS accepts SCORES or METADATA or RANDOM input, not EMBEDDINGS",
        ),
        (
            cfg({"input": {"type": "RANDOM"}, "strategy": {"type": "DIVERSITY"}}),
            "strategies[0].input.type",
            "DIVERSITY accepts EMBEDDINGS",
        ),
        (
            cfg(
                {
                    "input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
                    "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "BIGGER"},
                }
            ),
            "strategies[0].input.type",
            "THRESHOLD accepts",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "ABOVE"},
                }
            ),
            "strategies[0].strategy.operation",
            "must be one of SMALLER, SMALLER_EQUAL, BIGGER, BIGGER_EQUAL",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "THRESHOLD", "operation": "BIGGER"},
                }
            ),
            "strategies[0].strategy.threshold",
            "required",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "BIGGER"},
                    "strength": 2,
                }
            ),
            "strategies[0].strength",
            "no strength",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "DIVERSITY", "strength": 1}, "strength": 2}),
            "strategies[0].strategy.strength",
            "twice",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "DIVERSITY"}, "strength": "high"}),
            "strategies[0].strength",
            "number",
        ),
        (
            cfg(
                {
                    "input": EMB,
                    "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": -1},
                }
            ),
            "strategies[0].strategy.stopping_condition_minimum_distance",
            ">= 0",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "TYPICALITY", "num_nearest_neighbors": 0}}),
            "strategies[0].strategy.num_nearest_neighbors",
            ">= 1",
        ),
        (
            cfg({"input": EMB, "strategy": {"type": "SIMILARITY"}}),
            "strategies[0].input.tag_name",
            "query set",
        ),
        (
            cfg(
                {
                    "input": {"type": "EMBEDDINGS", "tag_name": "q"},
                    "strategy": {"type": "DIVERSITY"},
                }
            ),
            "strategies[0].input.tag_name",
            "only used by SIMILARITY",
        ),
        (
            cfg({"input": {"type": "SCORES", "task": "t"}, "strategy": {"type": "WEIGHTS"}}),
            "strategies[0].input.score",
            "required",
        ),
        (
            cfg({"input": {"type": "METADATA"}, "strategy": {"type": "WEIGHTS"}}),
            "strategies[0].input.key",
            "required",
        ),
        (
            cfg(
                {
                    "input": {"type": "PREDICTIONS", "task": "t", "name": "BOXES"},
                    "strategy": {"type": "BALANCE"},
                }
            ),
            "strategies[0].input.name",
            "CLASS_DISTRIBUTION",
        ),
        (
            cfg(
                {
                    "input": {"type": "PREDICTIONS", "task": "t", "name": "CLASS_DISTRIBUTION"},
                    "strategy": {"type": "BALANCE"},
                }
            ),
            "strategies[0].strategy.target",
            "required",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "BALANCE", "target": {"a": -0.1}},
                }
            ),
            "strategies[0].strategy.target.a",
            ">= 0",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "BALANCE", "distribution": "ZIPF"},
                }
            ),
            "strategies[0].strategy.distribution",
            "TARGET, UNIFORM, INPUT",
        ),
        (
            cfg(
                {
                    "input": {"type": "METADATA", "key": "k"},
                    "strategy": {"type": "BALANCE", "distribution": "UNIFORM", "target": {"a": 1}},
                }
            ),
            "strategies[0].strategy.target",
            "only used with distribution TARGET",
        ),
        (
            cfg({"input": {"type": "RANDOM", "random_seed": "x"}, "strategy": {"type": "WEIGHTS"}}),
            "strategies[0].input.random_seed",
            "integer",
        ),
        (
            cfg(
                {"input": {"type": "EMBEDDINGS", "task": "obj"}, "strategy": {"type": "DIVERSITY"}},
                {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "TYPICALITY"}},
            ),
            "strategies[1].input.task",
            "cannot mix image and object embeddings",
        ),
        (cfg("DIVERSITY"), "strategies[0]", "object"),
    ],
)
def test_config_errors_name_the_path(config, path, words):
    with pytest.raises(ConfigError) as exc:
        parse_config(config)
    assert exc.value.path == path
    assert str(exc.value).startswith(f"{path}: ")
    assert words in str(exc.value)


def test_seed_configs_parse_with_strength_in_both_places():
    c = parse_config(
        {
            "n_samples": 100,
            "strategies": [
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "DIVERSITY", "strength": 0.6},
                },
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "TYPICALITY"},
                    "strength": -2,
                },
                {
                    "input": {"type": "EMBEDDINGS", "dataset_id": "D1", "tag_name": "initial-tag"},
                    "strategy": {"type": "SIMILARITY"},
                },
                {
                    "input": {"type": "SCORES", "task": "det", "score": "uncertainty_entropy"},
                    "strategy": {"type": "WEIGHTS"},
                },
                {
                    "input": {"type": "METADATA", "key": "lightly.sharpness"},
                    "strategy": {"type": "THRESHOLD", "threshold": 20, "operation": "BIGGER"},
                },
                {
                    "input": {"type": "METADATA", "key": "weather.description"},
                    "strategy": {"type": "BALANCE", "target": {"sunny": 0.2, "cloudy": 0.4}},
                },
                {
                    "input": {
                        "type": "PREDICTIONS",
                        "task": "lightly_pretagging",
                        "name": "CLASS_DISTRIBUTION",
                    },
                    "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
                },
            ],
        }
    )
    assert [s.strength for s in c.strategies[:2]] == [0.6, -2.0]
    assert c.strategies[1].num_nearest_neighbors == 20
    req = c.requirements()
    assert req.embeddings == frozenset({None})
    assert req.queries == frozenset({("D1", "initial-tag")})
    assert req.scores == frozenset({("det", "uncertainty_entropy")})
    assert req.numeric_metadata == frozenset({"lightly.sharpness"})
    assert req.string_metadata == frozenset({"weather.description"})
    assert req.predictions == frozenset({("lightly_pretagging", "CLASS_DISTRIBUTION")})
    assert c.n_for(5) == 100
    assert parse_config({"proportion_samples": 0.25, "strategies": [DIV]}).n_for(7) == 1
