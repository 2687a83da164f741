"""``manage.py demo``: create the demo dataset (scikit-learn's digits) if it is absent."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from curation.datasets.demo import DEMO_NAME, demo_dataset_create


class Command(BaseCommand):
    help = "Create the demo dataset of 1,797 handwritten digits if it does not exist yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", help="Username of the owner (default: the first admin).")
        parser.add_argument("--name", default=DEMO_NAME)

    def handle(self, *args: Any, owner: str | None, name: str, **options: Any) -> None:
        User = get_user_model()
        if owner:
            user = User.objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"No user named {owner!r}: create it first or omit --owner.")
        else:
            user = User.objects.filter(is_superuser=True).order_by("pk").first()
            if user is None:
                raise CommandError(
                    "No admin account exists to own the demo: run `manage.py ensure_admin` "
                    "or pass --owner USERNAME."
                )
        dataset = demo_dataset_create(owner=user, name=name)
        if dataset is None:
            self.stdout.write(f"The demo dataset {name!r} exists already.")
        else:
            self.stdout.write(f"Created the demo dataset {name!r} with 1,797 samples.")
