"""`minqing backup [--output PATH]`: a consistent copy of the database, taken while Minqing runs."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from minqing.core.management.dbbackup import BackupError, backup_database, default_backup_path


class Command(BaseCommand):
    help = "Back up the database: SQLite online backup API, or pg_dump -Fc for PostgreSQL."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", "-o", help="file to write (default: DATA_DIR/backups/minqing-<time>.*)")
        parser.add_argument("--database", default="default", help="database alias (default: default)")

    def handle(self, *args, **options) -> None:
        db = settings.DATABASES[options["database"]]
        try:
            output = Path(options["output"]) if options["output"] else default_backup_path(settings.DATA_DIR, db)
            written = backup_database(db, output)
        except BackupError as error:
            raise CommandError(str(error)) from error
        size_kib = written.stat().st_size / 1024
        self.stdout.write(self.style.SUCCESS(f"备份完成 / backup written: {written} ({size_kib:.0f} KiB)"))
        self.stdout.write("Attachments (MEDIA_ROOT) are not in this file; copy them separately.")
