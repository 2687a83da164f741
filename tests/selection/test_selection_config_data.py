"""Every data error names the JSON path of the strategy that needs the data, in one sentence;
a named embedding space is used among several, and a threshold filters before the other
strategies run (a missing value fails the threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from curation.selection import ArrayData, DataError, select

X = np.arange(20, dtype=np.float32).reshape(10, 2)


def _data(**kw):
    base = {
        "embeddings": {"default": X},
        "metadata": {"num": np.arange(10.0), "txt": np.array(["a", "b"] * 5, dtype=object)},
    }
    base.update(kw)
    return ArrayData(**base)


@pytest.mark.parametrize(
    ("strategy", "data", "path", "words"),
    [
        (
            {"input": {"type": "METADATA", "key": "nope"}, "strategy": {"type": "WEIGHTS"}},
            _data(),
            "strategies[0].input.key",
            "does not exist",
        ),
        (
            {"input": {"type": "METADATA", "key": "txt"}, "strategy": {"type": "WEIGHTS"}},
            _data(),
            "strategies[0].input",
            "not numeric",
        ),
        (
            {
                "input": {"type": "METADATA", "key": "num"},
                "strategy": {"type": "BALANCE", "distribution": "UNIFORM"},
            },
            _data(),
            "strategies[0].input.key",
            "string metadata",
        ),
        (
            {"input": {"type": "METADATA", "key": "m"}, "strategy": {"type": "WEIGHTS"}},
            _data(metadata={"m": np.r_[np.nan, np.ones(9)]}),
            "strategies[0].input",
            "have no value",
        ),
        (
            {"input": {"type": "METADATA", "key": "m"}, "strategy": {"type": "WEIGHTS"}},
            _data(metadata={"m": np.r_[-1.0, np.ones(9)]}),
            "strategies[0].input",
            ">= 0",
        ),
        (
            {
                "input": {"type": "METADATA", "key": "txt"},
                "strategy": {"type": "BALANCE", "target": {"zzz": 0.5}},
            },
            _data(),
            "strategies[0].strategy.target.zzz",
            "unknown class",
        ),
        (
            {
                "input": {"type": "SCORES", "task": "t", "score": "s"},
                "strategy": {"type": "WEIGHTS"},
            },
            _data(),
            "strategies[0].input",
            "does not exist",
        ),
        (
            {
                "input": {"type": "PREDICTIONS", "task": "t", "name": "CATEGORY_COUNT"},
                "strategy": {"type": "BALANCE", "distribution": "INPUT"},
            },
            _data(),
            "strategies[0].input",
            "do not exist",
        ),
        (
            {"input": {"type": "EMBEDDINGS", "tag_name": "q"}, "strategy": {"type": "SIMILARITY"}},
            _data(),
            "strategies[0].input.tag_name",
            "does not exist",
        ),
        (
            {"input": {"type": "EMBEDDINGS", "tag_name": "q"}, "strategy": {"type": "SIMILARITY"}},
            _data(queries={"q": np.zeros((0, 2))}),
            "strategies[0].input.tag_name",
            "is empty",
        ),
        (
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            _data(embeddings={"a": X, "b": X}),
            "strategies[0].input.embedding",
            "several embedding spaces",
        ),
        (
            {"input": {"type": "EMBEDDINGS", "embedding": "c"}, "strategy": {"type": "DIVERSITY"}},
            _data(embeddings={"a": X, "b": X}),
            "strategies[0].input.embedding",
            "does not exist",
        ),
        (
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}},
            _data(embeddings={"a": np.r_[X[:9], [[np.nan, 0]]]}),
            "strategies[0].input",
            "NaN",
        ),
        (
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "TYPICALITY"}},
            _data(masked=np.arange(10) > 0),
            "strategies[0].strategy",
            "at least 2 candidates",
        ),
    ],
)
def test_data_errors_name_the_path(strategy, data, path, words):
    with pytest.raises(DataError) as exc:
        select({"n_samples": 3, "strategies": [strategy]}, data)
    assert exc.value.path == path
    assert words in str(exc.value)


def test_embedding_named_among_several_spaces_is_used():
    Y = X[::-1].copy()
    config = {
        "n_samples": 2,
        "strategies": [
            {"input": {"type": "EMBEDDINGS", "embedding": "b"}, "strategy": {"type": "DIVERSITY"}}
        ],
    }
    r = select(config, _data(embeddings={"a": X, "b": Y}))
    assert r.indices.tolist() == [0, 9]


def test_threshold_missing_value_fails_and_filters_first():
    m = np.array([5.0, np.nan, 30.0, 25.0, 21.0, 1.0, 40.0, 0.0, 22.0, 3.0])
    config = {
        "proportion_samples": 1.0,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "sharp"},
                "strategy": {"type": "THRESHOLD", "threshold": 21, "operation": "BIGGER"},
            },
            {"input": {"type": "METADATA", "key": "sharp"}, "strategy": {"type": "WEIGHTS"}},
        ],
    }
    data = _data(metadata={"sharp": m})
    r = select(config, data)
    assert r.indices.tolist() == [6, 2, 3, 8]
    assert r.n_candidates_after_thresholds == 4
    config["strategies"][0]["strategy"]["operation"] = "BIGGER_EQUAL"
    assert select(config, data).indices.tolist() == [6, 2, 3, 8, 4]
