"""One request's work on the strategy builder, shared by the builder page and the selection
dialog: read the posted forms, apply the button (add row, remove row, load pasted JSON),
validate, and hand the template bound forms that carry every error next to its field.

Invariant: nothing the user typed is lost — an invalid row keeps its text and shows its error;
a pasted text that does not parse stays in the text area with one sentence saying where.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from curation.builder.choices import BuilderChoices, fill_defaults, new_row
from curation.builder.dataset_checks import dataset_errors
from curation.builder.forms import (
    DISTRIBUTION_LABELS,
    INPUT_LABELS,
    MAX_ROWS,
    OPERATION_LABELS,
    STRATEGIES,
    BaseStrategyRowFormSet,
    BuilderFieldsForm,
    parse_pasted_json,
    row_formset,
    state_data,
    state_from_form,
)
from curation.builder.rows import BuilderState, Row, config_json, state_from_config
from curation.builder.validation import validate_state
from curation.selection.config import PREDICTION_NAMES

DEFAULT_CONFIG: dict[str, Any] = {
    "n_samples": 100,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


@dataclass
class BuilderForm:
    """The builder after one request: rows, the config they make, what is wrong, and the bound
    Django forms (``form`` around the rows, ``formset`` for the rows) that render it."""

    state: BuilderState
    config: dict[str, Any]
    errors: dict[str, str]
    json_error: str = ""
    json_text: str = ""
    action: str = ""
    form: BuilderFieldsForm = field(init=False)
    formset: BaseStrategyRowFormSet = field(init=False)

    def __post_init__(self) -> None:
        data = state_data(self.state)
        data["config_json"] = self.json_text
        self.form = BuilderFieldsForm(data)
        self.form.is_valid()
        self.formset = row_formset(data, limit=max(MAX_ROWS, len(self.state.rows)))
        self.formset.is_valid()
        for key, message in self.errors.items():
            self._attach(key, message)
        if self.json_error:
            self.form.add_error("config_json", self.json_error)

    @property
    def valid(self) -> bool:
        return not self.errors and not self.json_error

    def add_error(self, key: str, message: str) -> None:
        """Report ``message`` at ``key`` (``"<row>.<field>"``, ``"count"``, ``"rows"`` or
        ``"config"``), as validation does."""
        if self.errors.get(key) != message:
            self.errors[key] = message
            self._attach(key, message)

    def _attach(self, key: str, message: str) -> None:
        head, _, name = key.partition(".")
        if name and head.isdigit():
            if int(head) < len(self.formset.forms):
                row = self.formset.forms[int(head)]
                row.add_error(name if name in row.fields else None, message)
            return
        count = "n_samples" if self.state.count_mode == "n" else "percent"
        fields = {"count": count, "rows": "rows", "sequence_length": "sequence_length"}
        self.form.add_error(fields.get(key), message)


def builder_form_for_config(config: dict[str, Any], *, action: str = "") -> BuilderForm:
    """The builder showing ``config`` (a preset, the default) exactly as it is, with its errors."""
    state = state_from_config(config)
    config_out, errors = validate_state(state)
    return BuilderForm(state=state, config=config_out, errors=errors, action=action)


def builder_form(
    data: Any, choices: BuilderChoices, *, initial: dict[str, Any] | None = None
) -> BuilderForm:
    """Process the builder's part of a request. ``data`` is ``request.POST`` (or None for the
    first GET, which shows ``initial`` or the default config)."""
    if data is None:
        form = builder_form_for_config(initial or DEFAULT_CONFIG)
        for key, message in dataset_errors(form.state, choices).items():
            if key not in form.errors:
                form.add_error(key, message)
        return form
    around = BuilderFieldsForm(data)
    around.is_valid()
    action = around.text("action")
    json_error = json_text = ""
    if action == "load_json":
        pasted, json_error = parse_pasted_json(around.text("config_json"))
        if pasted is None:
            state = state_from_form(data)
            json_text = around.text("config_json")
        else:
            state = state_from_config(pasted)
    else:
        state = state_from_form(data)
        state.rows = [fill_defaults(row, choices) for row in state.rows]
        if action == "add":
            state.rows.append(new_row(choices, state.rows))
        elif action.startswith("remove:"):
            with contextlib.suppress(ValueError, IndexError):
                del state.rows[int(action.split(":", 1)[1])]
    config, errors = validate_state(state)
    for key, message in dataset_errors(state, choices).items():
        errors.setdefault(key, message)  # names the dataset lacks, before a run would start
    return BuilderForm(
        state=state,
        config=config,
        errors=errors,
        json_error=json_error,
        json_text=json_text,
        action=action,
    )


def _unoffered(row: Row) -> dict[str, str]:
    """Values of the row's fixed selects that none of their options offer (a pasted typo such
    as ``"operation": "BIGGERR"``): the select shows them as they are, next to their error,
    instead of silently falling back to its first option."""
    offered = {
        "input": row.allowed_inputs,
        "operation": tuple(OPERATION_LABELS),
        "distribution": tuple(DISTRIBUTION_LABELS),
        "pred_name": tuple(PREDICTION_NAMES),
    }
    return {
        name: getattr(row, name)
        for name, values in offered.items()
        if getattr(row, name) not in values
    }


def builder_context(form: BuilderForm, choices: BuilderChoices) -> dict[str, Any]:
    """Template context for ``curation/builder_fields.html``."""
    choices = choices.with_current(form.state)
    rows = []
    for i, (row, row_form) in enumerate(zip(form.state.rows, form.formset.forms, strict=True)):
        classes = choices.classes_for(
            row.input, row.pred_task if row.input == "PREDICTIONS" else row.metadata_key
        )
        shares = row.target_dict
        names = list(dict.fromkeys([*classes, *shares]))
        metadata_keys = (
            list(choices.string_metadata)
            if row.metadata_kind == "string"
            else list(choices.numeric_metadata)
        )
        rows.append(
            {
                "i": i,
                "row": row,
                "form": row_form,
                "inputs": [(t, INPUT_LABELS[t]) for t in row.allowed_inputs],
                "metadata_keys": metadata_keys,
                "targets": [(name, shares.get(name, "")) for name in names],
                "unoffered": _unoffered(row),
                "extra_input": config_json(row.extra_input) if row.extra_input else "",
                "extra_strategy": config_json(row.extra_strategy) if row.extra_strategy else "",
            }
        )
    return {
        "builder": form,
        "rows": rows,
        "choices": choices,
        "strategies": STRATEGIES,
        "operations": list(OPERATION_LABELS.items()),
        "distributions": list(DISTRIBUTION_LABELS.items()),
        "prediction_names": PREDICTION_NAMES,
        "config_text": form.json_text or config_json(form.config),
        "extra_text": config_json(form.state.extra) if form.state.extra else "",
    }
