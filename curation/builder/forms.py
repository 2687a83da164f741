"""The strategy builder's HTML form: one :class:`StrategyRowForm` per row in a formset, and
:class:`BuilderFieldsForm` for what lies around the rows (sample count, pasted JSON, action).

Field names are the builder's own and stay stable (links, tests and no-JavaScript posts use
them): row ``i``'s fields are ``s<i>-<field>`` (BALANCE targets ``s<i>-target:<class>``) and
``rows`` holds the number of rows — :class:`BaseStrategyRowFormSet` reads it instead of Django's
``TOTAL_FORMS`` management field. Every field is text, kept exactly as typed (stripped), so a
form with mistakes re-renders unchanged; :func:`state_from_form` turns the bound forms into a
``BuilderState`` and :func:`state_data` is the reverse. The errors the rows produce are added to
these forms (``add_error``) by ``curation.builder.editor`` and rendered next to their fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django import forms
from django.forms.formsets import ManagementForm

from curation.builder.rows import BuilderState, Row
from curation.formats.config_text import ConfigTextError, config_from_text

MAX_ROWS = 50
STRATEGIES: tuple[tuple[str, str], ...] = (
    ("DIVERSITY", "Diversity: spread out in an embedding space"),
    ("TYPICALITY", "Typicality: representative of dense regions"),
    ("SIMILARITY", "Similarity: close to a query tag"),
    ("WEIGHTS", "Weights: prefer high values"),
    ("THRESHOLD", "Threshold: keep only values passing a bound"),
    ("BALANCE", "Balance: class or metadata distribution"),
)
INPUT_LABELS: dict[str, str] = {
    "EMBEDDINGS": "Embeddings",
    "SCORES": "Scores",
    "METADATA": "Metadata",
    "PREDICTIONS": "Predictions",
    "RANDOM": "Random",
}
OPERATION_LABELS: dict[str, str] = {
    "SMALLER": "<",
    "SMALLER_EQUAL": "<=",
    "BIGGER": ">",
    "BIGGER_EQUAL": ">=",
}
DISTRIBUTION_LABELS: dict[str, str] = {
    "TARGET": "Target shares",
    "UNIFORM": "Uniform over classes",
    "INPUT": "Like the candidates",
}

# A field missing from the posted data (not just empty) takes the value a fresh row has.
ROW_DEFAULTS: dict[str, str] = {
    "strategy": "DIVERSITY",
    "input": "EMBEDDINGS",
    "pred_name": "CLASS_DISTRIBUTION",
    "operation": "BIGGER",
    "distribution": "TARGET",
    "strength": "1.0",
}
ROW_FIELDS: tuple[str, ...] = (
    "strategy",
    "input",
    "embedding",
    "tag_name",
    "score",
    "metadata_key",
    "pred_task",
    "pred_name",
    "random_seed",
    "min_distance",
    "num_nearest_neighbors",
    "threshold",
    "operation",
    "distribution",
    "distribution_given",
    "strength",
    "target_new_class",
    "target_new_share",
    "extra_input",
    "extra_strategy",
)
TARGET = "target:"


class _TextForm(forms.Form):
    """A form of optional text fields that knows whether a field was sent at all."""

    def text(self, name: str, default: str = "") -> str:
        if self.data.get(self.add_prefix(name)) is None:
            return default
        cleaned = getattr(self, "cleaned_data", {})
        return str(cleaned.get(name) or "")


class StrategyRowForm(_TextForm):
    """One strategy row: input type and its fields, strategy type and its parameters,
    strength, and the shares of a BALANCE target."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ROW_FIELDS:
            self.fields[name] = forms.CharField(required=False)
        head = self.add_prefix(TARGET)
        for key in self.data if self.is_bound else ():
            if isinstance(key, str) and key.startswith(head):
                self.fields[TARGET + key[len(head) :]] = forms.CharField(required=False)

    def to_row(self) -> Row:
        """The row as typed (call after validation)."""
        text = self.text
        task, score = "", ""
        if text("score"):
            try:
                task, score = (str(v) for v in json.loads(text("score")))
            except (ValueError, TypeError, RecursionError):
                task, score = "", ""
        targets = [
            (name[len(TARGET) :], text(name)) for name in self.fields if name.startswith(TARGET)
        ]
        new_class = text("target_new_class")
        if new_class and new_class not in dict(targets):
            targets.append((new_class, text("target_new_share")))
        return Row(
            strategy=text("strategy", ROW_DEFAULTS["strategy"]),
            input=text("input", ROW_DEFAULTS["input"]),
            embedding=text("embedding"),
            tag_name=text("tag_name"),
            min_distance=text("min_distance"),
            num_nearest_neighbors=text("num_nearest_neighbors"),
            score_task=task,
            score_name=score,
            metadata_key=text("metadata_key"),
            pred_task=text("pred_task"),
            pred_name=text("pred_name", ROW_DEFAULTS["pred_name"]),
            random_seed=text("random_seed"),
            threshold=text("threshold"),
            operation=text("operation", ROW_DEFAULTS["operation"]),
            distribution=text("distribution", ROW_DEFAULTS["distribution"]),
            distribution_given=text("distribution_given") == "1",
            target=targets,
            strength=text("strength", ROW_DEFAULTS["strength"]),
            extra_input=_json_dict(text("extra_input")),
            extra_strategy=_json_dict(text("extra_strategy")),
        )


def row_count(raw: Any, limit: int = MAX_ROWS) -> int:
    """The ``rows`` field: a whole number from 0 to ``limit`` (1 when unreadable)."""
    try:
        return max(0, min(int(str(raw or "1").strip() or "1"), limit))
    except ValueError:
        return 1


class BaseStrategyRowFormSet(forms.BaseFormSet):
    """Rows prefixed ``s<i>``, counted by the builder's ``rows`` field (at most ``limit``: a
    post reads up to ``MAX_ROWS`` rows; a pasted config shows all of its strategies)."""

    def __init__(self, *args: Any, limit: int = MAX_ROWS, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(*args, **kwargs)

    def add_prefix(self, index: Any) -> str:
        return f"s{index}"

    @cached_property
    def management_form(self) -> ManagementForm:
        count = row_count(self.data.get("rows"), self.limit) if self.is_bound else 0
        data = {"s-TOTAL_FORMS": str(count), "s-INITIAL_FORMS": str(count)}
        form = ManagementForm(data, prefix="s")
        form.full_clean()
        return form

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "empty_permitted": index is None}

    def rows(self) -> list[Row]:
        self.is_valid()  # cleans every row; text fields never fail
        return [form.to_row() for form in self.forms]


StrategyRowFormSet: type[BaseStrategyRowFormSet] = forms.formset_factory(  # type: ignore[assignment]
    StrategyRowForm,
    formset=BaseStrategyRowFormSet,
    extra=0,
    max_num=10_000,
    absolute_max=10_000,
)


class BuilderFieldsForm(_TextForm):
    """Everything around the rows: how many samples, the pasted config JSON, the button."""

    rows = forms.CharField(required=False, widget=forms.HiddenInput)
    count_mode = forms.CharField(required=False)
    n_samples = forms.CharField(required=False)
    percent = forms.CharField(required=False)
    sequence_length = forms.CharField(required=False)
    extra = forms.CharField(required=False, widget=forms.HiddenInput)
    config_json = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    action = forms.CharField(required=False)


def row_formset(data: Mapping[str, Any], *, limit: int = MAX_ROWS) -> BaseStrategyRowFormSet:
    """The bound row forms of ``data`` (at most ``limit`` rows)."""
    return StrategyRowFormSet(data, prefix="s", limit=limit)


def state_from_form(data: Mapping[str, Any]) -> BuilderState:
    """The builder as posted; each row gets an input type its strategy accepts."""
    fields = BuilderFieldsForm(data)
    fields.is_valid()
    return BuilderState(
        rows=[row.normalized() for row in row_formset(data).rows()],
        count_mode="proportion" if fields.text("count_mode") == "proportion" else "n",
        n_samples=fields.text("n_samples", "100"),
        percent=fields.text("percent", "10"),
        sequence_length=fields.text("sequence_length", "1"),
        extra=_json_dict(fields.text("extra")),
    )


def state_data(state: BuilderState) -> dict[str, str]:
    """The form data that posts ``state`` back (the reverse of :func:`state_from_form`)."""
    data = {
        "rows": str(len(state.rows)),
        "count_mode": state.count_mode,
        "n_samples": state.n_samples,
        "percent": state.percent,
        "sequence_length": state.sequence_length,
    }
    if state.extra:
        data["extra"] = json.dumps(state.extra)
    for i, row in enumerate(state.rows):
        p = f"s{i}-"
        values = {
            "strategy": row.strategy,
            "input": row.input,
            "embedding": row.embedding,
            "tag_name": row.tag_name,
            "score": row.score_value,
            "metadata_key": row.metadata_key,
            "pred_task": row.pred_task,
            "pred_name": row.pred_name,
            "random_seed": row.random_seed,
            "min_distance": row.min_distance,
            "num_nearest_neighbors": row.num_nearest_neighbors,
            "threshold": row.threshold,
            "operation": row.operation,
            "distribution": row.distribution,
            "strength": row.strength,
        }
        if row.distribution_given:
            values["distribution_given"] = "1"
        if row.extra_input:
            values["extra_input"] = json.dumps(row.extra_input)
        if row.extra_strategy:
            values["extra_strategy"] = json.dumps(row.extra_strategy)
        values.update({TARGET + name: share for name, share in row.target})
        data.update({p + key: value for key, value in values.items()})
    return data


def parse_pasted_json(text: str) -> tuple[dict[str, Any] | None, str]:
    """``(config, "")`` for a config object as the docs write it (comments, trailing commas,
    Python literals allowed), else ``(None, one sentence naming the line and column)``."""
    if not text.strip():
        return None, "Paste a selection config (JSON) first."
    try:
        return config_from_text(text, what="The pasted text"), ""
    except ConfigTextError as exc:
        return None, str(exc)


def _json_dict(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


class PresetSaveForm(forms.Form):
    """ "Save as preset" below the rows. The preset service checks the values (one sentence per
    mistake, added to the field it names), so the fields here only carry the text."""

    preset_name = forms.CharField(required=False, strip=False)
    preset_description = forms.CharField(required=False, strip=False)
    preset_visibility = forms.CharField(required=False, initial="private")

    def values(self) -> dict[str, str]:
        """``name``, ``description`` and ``visibility`` as typed; a field that was not sent
        keeps its initial value (the preset's own when editing)."""

        def value(name: str) -> str:
            if self.is_bound and self.add_prefix(name) in self.data:
                return str(self[name].value() or "")
            return str(self.get_initial_for_field(self.fields[name], name) or "")

        return {
            "name": value("preset_name"),
            "description": value("preset_description"),
            "visibility": value("preset_visibility") or "private",
        }

    def add_service_error(self, field: str | None, message: str) -> None:
        """Put a ``PresetError`` next to its field (``name`` -> ``preset_name``)."""
        name = f"preset_{field}" if field else None
        self.add_error(name if name in self.fields else None, message)
