"""`minqing restore PATH [--yes]`: replace the database with a backup made by `minqing backup`."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from minqing.core.management.dbbackup import BackupError, restore_database


class Command(BaseCommand):
    help = "Restore the database from a backup file. Everything written since that backup is lost."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="backup file made by `minqing backup`")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, **options) -> None:
        alias = options["database"]
        db = settings.DATABASES[alias]
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"backup file {path} does not exist")
        if not options["yes"]:
            if not sys.stdin.isatty():
                raise CommandError("refusing to restore without --yes when not interactive")
            answer = input(f"Replace database {db['NAME']} with {path}? Everything since that backup is lost. [y/N] ")
            if answer.strip().lower() not in {"y", "yes", "是"}:
                raise CommandError("restore cancelled")
        # Stop the web server, worker and scheduler first; this process lets go of its own connection.
        connections[alias].close()
        try:
            restore_database(db, path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"恢复完成 / restored {db['NAME']} from {path}"))
