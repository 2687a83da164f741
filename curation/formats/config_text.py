"""Read a selection config as the LightlyOne docs write it: the one lenient text parser.

Every place where a user pastes or points to a config (the builder's paste box, ``manage.py
select --config``, preset import) calls :func:`config_from_text`. It accepts JSON plus what the
docs' examples carry: ``#`` and ``//`` (and ``/* */``) comments, trailing commas, the
Python literals ``True`` / ``False`` / ``None`` and a number written as ``float(1e9)`` — all
through the ``json5`` parser from PyPI.

Invariants:
- Only text outside strings is rewritten, and every rewrite keeps the length of each line
  (``#`` comments become spaces, ``True`` -> ``true``, ``False`` -> ``false``, ``None`` ->
  ``null``, ``float(1e9)`` -> ``      1e9 ``), so the line and column of a syntax error are
  those of the text the user wrote.
- The result is always a dict (an object at the top) or :class:`ConfigTextError` is raised with
  one sentence that names the line and column. Content (the JSON paths) is checked afterwards
  by :func:`curation.selection.parse_config`.
- The JSON API does not use this: it stays strict ``application/json``.
"""

from __future__ import annotations

import re
from typing import Any

import json5

_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_IDENT = re.compile(r"[\w$]+")
# ``float(1e9)``, as seed 001's video example writes a strength: the number, padded with spaces
_FLOAT_CALL = re.compile(r"float\(\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\)")
_JSON5_ERROR = re.compile(r"^<string>:(\d+) (.*?) at column (\d+)$")


class ConfigTextError(ValueError):
    """The text is not a config object; ``line`` / ``column`` point at the problem (1-based)."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


def normalize_config_text(text: str) -> str:
    """``text`` with ``#`` comments blanked and Python literals lower-cased, outside strings
    only; same length, same line breaks."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":  # a string: copy up to its closing quote (or the end of the line)
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(text[i:j])
            i = j
        elif ch == "#" or text.startswith("//", i):  # a line comment: '#' is blanked
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i) if ch == "#" else text[i:end])
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(text[i:end])
            i = end
        elif (call := _FLOAT_CALL.match(text, i)) is not None:  # float(1e9) -> 1e9
            pad_left = call.start(1) - call.start()
            out.append(" " * pad_left + call.group(1) + " " * (call.end() - call.end(1)))
            i = call.end()
        elif ch.isalpha() or ch in "_$":
            match = _IDENT.match(text, i)
            assert match is not None
            word = match.group(0)
            out.append(_PY_LITERALS.get(word, word))
            i = match.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def config_from_text(text: str, *, what: str = "The config") -> dict[str, Any]:
    """Parse a pasted or uploaded config leniently; raise :class:`ConfigTextError`.

    ``what`` starts the error sentence (e.g. ``"The pasted text"``, ``"The config cfg.json"``).
    """
    if not text.strip():
        raise ConfigTextError(f"{what} is empty; give a selection config (JSON).")
    try:
        value = json5.loads(normalize_config_text(text))
    except RecursionError:
        raise ConfigTextError(f"{what} is not valid JSON: it is nested too deeply.") from None
    except ValueError as exc:
        raise _syntax_error(str(exc), what) from None
    value = _join_surrogates(value)
    if not isinstance(value, dict):
        raise ConfigTextError(
            f"{what} must be an object with n_samples (or proportion_samples) and strategies, "
            "like a LightlyOne Worker selection config."
        )
    return value


def _join_surrogates(value: Any) -> Any:
    """JSON's ``"\\ud83d\\ude00"`` escapes are one character (as ``json.loads`` reads them);
    ``json5`` leaves the two halves apart, so join them in every key and string."""
    if isinstance(value, str):
        if not any("\ud800" <= ch <= "\udfff" for ch in value):
            return value
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:  # a lone half stays as written
            return value
    if isinstance(value, dict):
        return {_join_surrogates(k): _join_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_surrogates(v) for v in value]
    return value


def _syntax_error(detail: str, what: str) -> ConfigTextError:
    match = _JSON5_ERROR.match(detail.strip())
    if match is None:  # e.g. an integer of 4,300+ digits
        return ConfigTextError(f"{what} is not valid JSON: a number is too long or malformed.")
    line, column = int(match.group(1)), int(match.group(3))
    problem = match.group(2)
    quoted = re.fullmatch(r'Unexpected "(.+)"', problem)
    if quoted is not None:
        problem = f"unexpected {quoted.group(1)!r}"
    problem = problem[:1].lower() + problem[1:] if problem else "unexpected text"
    return ConfigTextError(
        f"{what} is not valid JSON: {problem} at line {line}, column {column}.",
        line=line,
        column=column,
    )


def config_worker_form(config: dict[str, Any]) -> dict[str, Any]:
    """A valid config in the form the LightlyOne Worker docs write (seed 004): a ``strength``
    given next to ``input`` / ``strategy`` moves inside ``strategy``; everything else (a given
    ``distribution`` included) is kept as it is. Call it after ``parse_config`` succeeded."""
    out = dict(config)
    strategies = out.get("strategies")
    if not isinstance(strategies, list):
        return out
    entries = []
    for raw in strategies:
        entry = dict(raw) if isinstance(raw, dict) else raw
        if (
            isinstance(entry, dict)
            and "strength" in entry
            and isinstance(entry.get("strategy"), dict)
        ):
            strength = entry.pop("strength")
            entry["strategy"] = {**entry["strategy"], "strength": strength}
        entries.append(entry)
    out["strategies"] = entries
    return out
