"""``manage.py serve``: the ASGI server (Daphne: HTTP + websockets) and, in embedded mode, the
task worker in the same process."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from curation.jobs.workers import inprocess_worker_start
from curation.storage.embeddings import embedding_files_sweep


class Command(BaseCommand):
    help = "Serve Curation over ASGI (HTTP and websockets) with an in-process worker if enabled."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the in-process task worker (run `manage.py db_worker` instead).",
        )

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
        # Lazy on purpose: importing daphne's server installs Twisted's asyncio reactor, which
        # every other management command (and the test run) must not get as a side effect.
        from daphne.cli import CommandLineInterface

        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
        removed = embedding_files_sweep()
        if removed:
            self.stdout.write(f"Removed {removed} orphaned embedding files.")
        if settings.CURATION_INPROCESS_WORKER and not no_worker:
            inprocess_worker_start()
            self.stdout.write("Task worker: in-process.")
        else:
            self.stdout.write("Task worker: external (start `python manage.py db_worker`).")
        self.stdout.write(f"Curation is serving on http://{host}:{port}/  (Ctrl+C to stop)")
        application = settings.ASGI_APPLICATION.replace(".application", ":application")
        CommandLineInterface().run(["--bind", host, "--port", str(port), application])
