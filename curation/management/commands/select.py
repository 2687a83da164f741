"""``manage.py select``: run a selection headless, like the LightlyOne Worker.

    python manage.py select NAME --config FILE.json --tag TAG [--where FILTER] [--from-tag TAG]
        [--mask-tag TAG | --no-mask] [--preselected-tag TAG | --no-preselected]
        [--user USERNAME (or --owner)]
        [--knn auto|exact|approximate] [--approximate-above ROWS]
    python manage.py select --rerun RUN_ID [--tag TAG]

It runs the same service as the browser and the API, in this process, with a progress bar on
stderr. The dataset's default mask and pre-selection (from a Lightly CSV's ``masked`` /
``selected`` columns, or set on the dataset page) apply unless a tag or ``--no-…`` is given.
``--where`` may name a saved view (``view=NAME``), resolved for ``--user`` (default: the dataset
owner): their own view of that name, else one shared with the team.
Any error exits non-zero with one line, and nothing is written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from curation.access import datasets_visible_to
from curation.browse.saved_views import sample_filter_for_user
from curation.filters import FilterError
from curation.formats.config_text import ConfigTextError, config_from_text
from curation.models import Dataset, SelectionRun
from curation.runs.defaults import DATASET_DEFAULT, TagChoice, run_counts
from curation.runs.services import (
    SelectionRunError,
    selection_run_rerun,
    selection_run_start,
)

BAR_WIDTH = 30


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


class Command(BaseCommand):
    help = (
        "Select samples of dataset NAME with a LightlyOne-compatible JSON config and keep them "
        "as tag TAG. Candidates: --where in the filter language of the browser's URLs, e.g. "
        "'tag=train&min:lightly.sharpness=50&meta:weather.description=sunny'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="Dataset name.")
        parser.add_argument(
            "--config",
            help="Selection config file: JSON as the LightlyOne docs write it (comments, "
            "trailing commas and True/False/None are fine).",
        )
        parser.add_argument("--tag", help="Name of the result tag (must not exist yet).")
        parser.add_argument(
            "--where",
            default="",
            help="Candidate filter, e.g. 'tag=train&exclude_tag=blurry&min:lightly.sharpness=50'.",
        )
        parser.add_argument(
            "--from-tag", action="append", default=[], help="Shorthand for tag=TAG in --where."
        )
        parser.add_argument(
            "--mask-tag",
            help="Samples of this tag are never selected (default: the dataset's default mask).",
        )
        parser.add_argument(
            "--no-mask", action="store_true", help="Ignore the dataset's default mask."
        )
        parser.add_argument(
            "--preselected-tag",
            help="Samples of this tag are selected first and count toward n (default: the "
            "dataset's default pre-selection).",
        )
        parser.add_argument(
            "--no-preselected",
            action="store_true",
            help="Ignore the dataset's default pre-selection.",
        )
        parser.add_argument(
            "--owner",
            "--user",
            dest="owner",
            metavar="USERNAME",
            help="User the command acts as (default: the dataset owner): the run and tag are "
            "recorded for them, the dataset must be visible to them, and view=NAME in --where "
            "is one of their saved views or one shared with the dataset's team.",
        )
        parser.add_argument(
            "--rerun", type=int, metavar="RUN_ID", help="Run a previous run again (same inputs)."
        )
        parser.add_argument(
            "--knn",
            choices=["auto", "exact", "approximate"],
            help="How TYPICALITY finds neighbours (default auto: exact up to --approximate-above "
            "candidates, approximate IVF search above; its recall is in the run's notes).",
        )
        parser.add_argument(
            "--approximate-above",
            type=int,
            metavar="ROWS",
            help="With --knn auto: candidates above which the search is approximate "
            "(default 200000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.progress_shown = False
        self.started = time.monotonic()
        try:
            rerun = options["rerun"] is not None
            run = self._rerun(options) if rerun else self._start(options)
        except (SelectionRunError, FilterError) as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: the selection was cancelled; no tag was written."
            ) from None
        finally:
            if self.progress_shown:
                self.stderr.write("")
        self._report(run)

    # ------------------------------------------------------------------------- inputs

    def _start(self, options: dict[str, Any]) -> SelectionRun:
        if not options["name"]:
            raise CommandError("Name the dataset: manage.py select NAME --config FILE --tag TAG.")
        for flag in ("config", "tag"):
            if not options[flag]:
                raise CommandError(f"--{flag} is required.")
        config = self._read_config(options["config"])
        user = self._user(options["owner"])
        dataset = self._dataset(options["name"], user)
        pairs = parse_qsl(options["where"].strip().lstrip("?"), keep_blank_values=True)
        pairs += [("tag", name) for name in options["from_tag"]]
        user = user or dataset.owner
        sample_filter = sample_filter_for_user(dataset=dataset, user=user, source=pairs)
        return selection_run_start(
            dataset=dataset,
            config=config,
            result_tag_name=options["tag"],
            user=user,
            candidate_filter=sample_filter,
            mask_tag=self._tag_choice(options, "mask_tag", "no_mask"),
            preselected_tag=self._tag_choice(options, "preselected_tag", "no_preselected"),
            knn=self._knn(options),
            execute="inline",
            progress=self._progress,
        )

    @staticmethod
    def _knn(options: dict[str, Any]) -> dict[str, Any] | None:
        knn = {"mode": options.get("knn"), "approximate_above": options.get("approximate_above")}
        knn = {key: value for key, value in knn.items() if value is not None}
        return knn or None

    @staticmethod
    def _tag_choice(options: dict[str, Any], name: str, off: str) -> TagChoice:
        flag = "--" + name.replace("_", "-")
        if options[name] and options[off]:
            raise CommandError(f"Give {flag} or --{off.replace('_', '-')}, not both.")
        if options[off]:
            return None
        return options[name] or DATASET_DEFAULT

    def _rerun(self, options: dict[str, Any]) -> SelectionRun:
        run = SelectionRun.objects.select_related("dataset").filter(pk=options["rerun"]).first()
        if run is None:
            raise CommandError(f"No selection run {options['rerun']}.")
        user = self._user(options["owner"])
        if user is not None:
            self._dataset(run.dataset.name, user)
        return selection_run_rerun(
            run=run,
            user=user or run.created_by or run.dataset.owner,
            result_tag_name=options["tag"],
            execute="inline",
            progress=self._progress,
        )

    def _read_config(self, path: str) -> dict[str, Any]:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read the config {path}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"The config {path} is not UTF-8 text.") from None
        try:
            return config_from_text(text, what=f"The config {path}")
        except ConfigTextError as exc:
            raise CommandError(str(exc)) from None

    def _user(self, username: str | None) -> Any:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _dataset(self, name: str, user: Any) -> Dataset:
        datasets = datasets_visible_to(user) if user is not None else Dataset.objects.all()
        dataset = datasets.filter(name=name).first()
        if dataset is None:
            who = f" visible to {user.get_username()}" if user is not None else ""
            raise CommandError(f"No dataset named {name!r}{who}.")
        return dataset

    # ------------------------------------------------------------------------- output

    def _progress(self, run: SelectionRun) -> None:
        total = run.requested_n or 0
        fraction = run.progress
        filled = round(fraction * BAR_WIDTH)
        elapsed = time.monotonic() - self.started
        eta = ""
        if 0 < fraction < 1:
            eta = f"  ETA {_duration(elapsed * (1 - fraction) / fraction)}"
        line = (
            f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {fraction * 100:5.1f}%  "
            f"{run.picks_done}/{total} picks  {_duration(elapsed)}{eta}   "
        )
        self.stderr.write(line, ending="")
        self.stderr.flush()
        self.progress_shown = True

    def _report(self, run: SelectionRun) -> None:
        if run.status == SelectionRun.Status.FAILED:
            raise CommandError(f"Selection run {run.pk} failed: {run.error}")
        if run.status == SelectionRun.Status.CANCELLED:
            raise CommandError(f"Selection run {run.pk} was cancelled; no tag was written.")
        seconds = run.duration_seconds or 0.0
        counts = run_counts(run)
        candidates = counts.describe() if counts else f"{run.candidate_count} candidates"
        self.stdout.write(
            f"Selected {run.selected_count} of {candidates} into tag "
            f"{run.result_tag_name!r} of {run.dataset.name} in {_duration(seconds)} "
            f"(run {run.pk})."
        )
        self.stdout.write(f"Stopped: {run.stopped_by.replace('_', ' ')}.")
        for line in run.message.splitlines():
            self.stdout.write(f"Note: {line}")
        timings = run.timings
        if timings:
            self.stdout.write(
                f"Time: load {timings.get('load_s', 0):.2f}s, engine "
                f"{timings.get('engine_s', 0):.2f}s, write {timings.get('write_s', 0):.2f}s."
            )
