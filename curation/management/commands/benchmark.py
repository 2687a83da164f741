"""``manage.py benchmark``: speed and memory against the reference solver, as ratios.

Suites: ``engine`` (the pure numpy engine vs lightly_mundig, measured in the same run),
``ingest`` (100k-sample CSV import, image metadata), ``e2e`` (a whole run through the service vs
the engine alone), ``pages`` (server time of the busiest pages at 1M samples, PostgreSQL) and
``load`` (500 page loads at concurrency 50 against a live ``serve``: errors, p50/p99 and the
peak PostgreSQL connections against the pool maximum; ``--url`` targets a running server) and
``scale`` (pages, counts, map, delete and import memory at 10k / 100k / 1M; ``--sizes``).
``make bench`` installs the reference solver and runs every suite with the OpenBLAS pin lifted.
"""

from __future__ import annotations

import importlib
import shlex
import time
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from curation.benchmarks.engine import main as engine_main

SUITES = {
    "ingest": ("curation.benchmarks.ingest", "run_ingest_benchmark"),
    "e2e": ("curation.benchmarks.selection_e2e", "run_selection_e2e_benchmark"),
    "objects": ("curation.benchmarks.objects_e2e", "run_objects_benchmark"),
    "pages": ("curation.benchmarks.pages", "run_pages_benchmark"),
    "load": ("curation.benchmarks.load", "run_load_benchmark"),
    "scale": ("curation.benchmarks.scale", "run_scale_benchmark"),
    "client": ("curation.benchmarks.client", "run_client_benchmark"),  # --suite client
}


class Command(BaseCommand):
    help = (
        "Benchmark the selection engine (and the app around it) against lightly_mundig, "
        "measured in the same run. `make bench` installs the reference and runs this."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--suite",
            action="append",
            choices=["engine", *SUITES],
            help="Run only these suites (repeatable; default: all).",
        )
        parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke test.")
        parser.add_argument(
            "--engine-args",
            default="",
            help='Extra options for the engine suite, e.g. "--only diversity".',
        )
        parser.add_argument(
            "--sizes",
            default=None,
            help="For the scale suite: dataset sizes, e.g. 10k,100k,1M (default: those three).",
        )
        parser.add_argument(
            "--url",
            default=None,
            help="For the load suite: a running server on 127.0.0.1 (default: start one).",
        )

    def handle(self, *args: Any, suite: list[str] | None, quick: bool, **options: Any) -> None:
        # scale builds 1M-sample datasets: only when asked for by name
        suites = suite or ["engine", *(name for name in SUITES if name != "scale")]
        if any(name in SUITES for name in suites):
            _require_migrated()
        failures = []
        for name in suites:
            self.stdout.write(self.style.MIGRATE_HEADING(f"== {name} =="))
            started = time.perf_counter()
            if name == "engine":
                argv = shlex.split(options["engine_args"]) + (["--quick"] if quick else [])
                if engine_main(argv, stdout=cast(TextIO, self.stdout)):
                    failures.append(name)
            else:
                module_name, function = SUITES[name]
                runner = getattr(importlib.import_module(module_name), function)
                extra = {"url": options["url"]} if name == "load" else {}
                if name == "scale":
                    extra = {"sizes": options["sizes"]}
                runner(self.stdout, quick, **extra)
            self.stdout.write(f"({name}: {time.perf_counter() - started:.1f} s)\n")
        if failures:
            raise CommandError(f"Benchmark suites failed: {', '.join(failures)}.")


def _require_migrated() -> None:
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError(
            "The database has unapplied migrations: run `python manage.py migrate` first "
            "(the app-level suites write and delete throwaway datasets)."
        )
