"""``manage.py benchmark``: speed and memory against the reference solver, as ratios."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Benchmark the selection engine (and the app around it) against lightly_mundig, "
        "measured in the same run. `make bench` installs the reference and runs this."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs="*", help="Options passed to the benchmark runner.")

    def handle(self, *args: Any, **options: Any) -> None:
        from curation.selection.benchmark import main

        code = main(list(args), stdout=self.stdout)
        if code:
            raise CommandError(f"The benchmark failed (exit code {code}).")
