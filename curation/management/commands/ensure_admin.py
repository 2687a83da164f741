"""``manage.py ensure_admin``: create a local superuser if there is none, printing its password
once. Used by ``make run`` so a fresh checkout can log in straight away."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils.crypto import get_random_string


class Command(BaseCommand):
    help = "Create a local admin account if no superuser exists and print its generated password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already; its password is unchanged.")
            return
        password = get_random_string(16)
        User.objects.create_superuser(username=username, email="", password=password)
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\nCreated the admin account.\n  username: {username}\n  password: {password}\n"
            f"Write the password down: it is shown only this once.\n{bar}"
        )
