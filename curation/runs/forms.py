"""Forms of the run pages: the selection dialog's own fields (around the strategy builder),
"keep only the first k picks", the download format, and a dataset's selection defaults.

Forms carry and check what was typed; the run services decide (their errors are added to the
field they name, so the page shows them next to it and nothing typed is lost).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from curation.builder.editor import BuilderForm
from curation.builder.validation import field_for_path
from curation.models import Dataset, StrategyPreset, Tag
from curation.runs.inputs import SelectionRunError
from curation.runs.keep_first import keep_first_problem, keep_first_range

NONE_LABEL = "— none —"
_RUN_FIELDS = ("result_tag_name", "mask_tag", "preselected_tag")


def preset_from(presets: QuerySet[StrategyPreset], raw: Any) -> StrategyPreset | None:
    """The preset ``raw`` names among ``presets`` (None for blank, unknown or invisible)."""
    text = str(raw or "").strip()
    if not text.isdigit():
        return None
    return presets.filter(pk=int(text)).first()


class SelectionDialogForm(forms.Form):
    """The dialog's fields around the builder: mask and pre-selected tag, the preset the rows
    came from, and the result tag name (the run service checks the names)."""

    mask_tag = forms.CharField(required=False)
    preselected_tag = forms.CharField(required=False)
    preset = forms.CharField(required=False)
    loaded_preset = forms.CharField(required=False)
    result_tag_name = forms.CharField(required=False)

    def __init__(self, *args: Any, presets: QuerySet[StrategyPreset], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presets = presets

    def value(self, name: str) -> str:
        """A field's text as typed (stripped), or its initial value on the first GET."""
        if self.is_bound:
            return str(self[name].value() or "").strip()
        return str(self.initial.get(name) or "")

    def chosen_preset(self) -> StrategyPreset | None:
        return preset_from(self.presets, self.value("preset"))

    def preset_changed(self) -> bool:
        """The preset select changed since the rows were loaded from it."""
        return self.value("preset") != self.value("loaded_preset")

    def add_start_error(self, exc: SelectionRunError, builder: BuilderForm) -> None:
        """Put a run error next to the field it names (a builder row or one of ours)."""
        path = exc.path or ""
        message = str(exc)
        if path in _RUN_FIELDS:
            prefix = path + ":"
            self.add_error(
                path, message.split(": ", 1)[1] if message.startswith(prefix) else message
            )
            return
        if path == "candidate_filter":
            self.add_error(None, message)
            return
        if path.startswith(("strategies", "n_samples", "proportion_samples")):
            row, name = field_for_path(path, None)
            key = name if row is None else f"{row}.{name}"
            builder.add_error(key, message.split(": ", 1)[1] if ": " in message else message)
        self.add_error(None, message)


class KeepFirstForm(forms.Form):
    """A new tag with the first ``k`` picks of a run (``name`` defaults to
    ``<result tag>-first-<k>``); a run of sequences of ``sequence_length`` frames keeps whole
    sequences (``runs.keep_first``)."""

    k = forms.IntegerField()
    name = forms.CharField(required=False)

    def __init__(self, *args: Any, picks: int, sequence_length: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.picks = picks
        self.sequence_length = sequence_length
        clause = keep_first_range(picks=picks, length=sequence_length)
        self.range_message = f"Choose how many to keep: {clause}."
        self.fields["k"].error_messages = {
            "required": self.range_message,
            "invalid": self.range_message,
        }

    def clean_k(self) -> int:
        k = int(self.cleaned_data["k"])
        if not 1 <= k <= self.picks:
            raise forms.ValidationError(self.range_message)
        problem = keep_first_problem(k=k, picks=self.picks, length=self.sequence_length)
        if problem is not None:
            self.range_message = f"Choose how many to keep: {problem}."
            raise forms.ValidationError(self.range_message)
        return k


class ExportFormatForm(forms.Form):
    """``?format=`` of a download (file names when left out); the export helper decides
    whether it is one it writes."""

    format = forms.CharField(required=False)

    def chosen(self) -> str:
        self.is_valid()
        return str(self.cleaned_data.get("format") or "filenames")


class SelectionDefaultsForm(forms.Form):
    default_mask_tag = forms.ChoiceField(
        label="Default mask tag", required=False, help_text="Never selected, invisible."
    )
    default_preselected_tag = forms.ChoiceField(
        label="Default pre-selected tag",
        required=False,
        help_text="Selected first; counts toward n.",
    )

    def __init__(self, *args: Any, dataset: Dataset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(
            Tag.objects.filter(dataset=dataset).order_by("name").values_list("name", "name")
        )
        for field in self.fields.values():
            field.choices = [("", NONE_LABEL), *names]  # type: ignore[attr-defined]
            field.error_messages["invalid_choice"] = (
                f"Choose a tag of dataset {dataset.name!r} (or none)."
            )
