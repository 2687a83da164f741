"""The one lenient config parser: comments, trailing commas, Python literals; exact errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.formats.config_text import (
    ConfigTextError,
    config_from_text,
    config_worker_form,
    normalize_config_text,
)
from curation.selection import ConfigError, parse_config

DOCS_TEXT = """{
    "n_samples": 100, # set to the number of samples you want to select
    "strategies": [
        // a comment line
        {
            "input": {"type": "RANDOM", "random_seed": None,},
            "strategy": {"type": "WEIGHTS", "strength": 2.5, /* inline */},
        },
    ],
}
"""


def test_it_reads_comments_trailing_commas_and_python_literals():
    assert config_from_text(DOCS_TEXT) == {
        "n_samples": 100,
        "strategies": [
            {
                "input": {"type": "RANDOM", "random_seed": None},
                "strategy": {"type": "WEIGHTS", "strength": 2.5},
            }
        ],
    }


def test_python_literals_and_hashes_inside_strings_are_kept():
    text = '{"a": "True # not a comment // nor this", "b": \'None\', "c": [True, False, None]}'
    assert config_from_text(text) == {
        "a": "True # not a comment // nor this",
        "b": "None",
        "c": [True, False, None],
    }


def test_rewriting_keeps_every_line_and_column():
    text = '{"a": True, # note\n "b": "x#y", "Nonesuch": None}'
    out = normalize_config_text(text)
    assert len(out) == len(text) and out.count("\n") == 1
    assert out == '{"a": true,       \n "b": "x#y", "Nonesuch": null}'


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        (
            '{\n  "n_samples": 5 # five\n  "strategies": []\n}',
            "The config is not valid JSON: unexpected '\"' at line 3, column 3.",
            3,
            3,
        ),
        (
            '{"n_samples": 5} extra',
            "The config is not valid JSON: unexpected 'e' at line 1, column 18.",
            1,
            18,
        ),
        (
            '{"n_samples": 5,\n "strategies": [',
            "The config is not valid JSON: unexpected end of input at line 2, column 17.",
            2,
            17,
        ),
    ],
)
def test_syntax_errors_name_line_and_column(text, message, line, column):
    with pytest.raises(ConfigTextError) as caught:
        config_from_text(text)
    assert str(caught.value) == message
    assert (caught.value.line, caught.value.column) == (line, column)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  \n", "The config is empty; give a selection config (JSON)."),
        (
            "[1, 2]",
            "The config must be an object with n_samples (or proportion_samples) and "
            "strategies, like a LightlyOne Worker selection config.",
        ),
        (
            '{"n": 1' + "0" * 5000 + "}",
            "The config is not valid JSON: a number is too long or malformed.",
        ),
        ("[" * 100_000, "The config is not valid JSON: it is nested too deeply."),
    ],
)
def test_other_bad_texts_are_one_sentence(text, message):
    with pytest.raises(ConfigTextError) as caught:
        config_from_text(text)
    assert str(caught.value) == message


def test_content_errors_still_name_the_json_path():
    config = config_from_text(
        '{"n_samples": 5, "strategies": [{"input": {"type": "X",}, "strategy": {},},],}'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    assert caught.value.path == "strategies[0].input.type"


def test_worker_form_moves_strength_into_the_strategy():
    config = {
        "n_samples": 3,
        "strategies": [
            {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}, "strength": 2},
            {
                "input": {"type": "METADATA", "key": "w"},
                "strategy": {"type": "BALANCE", "distribution": "TARGET", "target": {"a": 1}},
            },
        ],
    }
    assert config_worker_form(config)["strategies"] == [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY", "strength": 2}},
        config["strategies"][1],
    ]
    assert "strength" in config["strategies"][0]  # the argument is left unchanged


# ----------------------------------------------------------------------- property


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_inputs = st.one_of(
    st.fixed_dictionaries({"type": st.just("EMBEDDINGS")}, optional={"embedding": _names}),
    st.fixed_dictionaries(
        {"type": st.just("RANDOM")},
        optional={"random_seed": st.one_of(st.none(), st.integers(0, 2**31))},
    ),
    st.fixed_dictionaries(
        {"type": st.just("METADATA"), "key": _names},
    ),
)
_strength = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def valid_configs(draw):
    entries = []
    for inp in draw(st.lists(_inputs, min_size=1, max_size=4)):
        if inp["type"] == "EMBEDDINGS":
            strategy = draw(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["DIVERSITY", "TYPICALITY"])},
                    optional={"strength": _strength},
                )
            )
        elif inp["type"] == "RANDOM":
            strategy = {"type": "WEIGHTS", "strength": draw(_strength)}
        else:
            strategy = draw(
                st.sampled_from(
                    [
                        {"type": "WEIGHTS"},
                        {"type": "THRESHOLD", "threshold": 0.5, "operation": "BIGGER"},
                        {"type": "BALANCE", "distribution": "UNIFORM"},
                        {"type": "BALANCE", "target": {"x": 0.25, "y": 0.5}},
                    ]
                )
            )
        entries.append({"input": inp, "strategy": strategy})
    head = draw(
        st.one_of(
            st.fixed_dictionaries({"n_samples": st.integers(1, 10**9)}),
            st.fixed_dictionaries({"proportion_samples": st.floats(0.001, 1.0)}),
        )
    )
    return {**head, "strategies": entries}


@settings(max_examples=200, deadline=None)
@given(config=valid_configs(), indent=st.sampled_from([None, 2, 4]))
def test_json_dumps_then_lenient_parse_gives_the_same_dict(config, indent):
    parse_config(config)  # the generator makes valid configs only
    text = json.dumps(config, indent=indent, ensure_ascii=False)
    assert config_from_text(text) == config
    ascii_text = json.dumps(config, indent=indent)
    assert config_from_text(ascii_text) == config
