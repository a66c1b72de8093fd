"""`minqing openapi_export [--check]`: write the API schema to docs/openapi.json, or fail if it drifted."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.api.main import api

DEFAULT_PATH = Path("docs") / "openapi.json"


def schema_text() -> str:
    """The schema as committed: sorted keys, indent 2, UTF-8 Chinese, trailing newline."""
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write the OpenAPI schema of /api/v1 to docs/openapi.json (--check: exit 1 if it differs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH)

    def handle(self, *args, check: bool, path: Path, **options) -> None:
        text = schema_text()
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                raise CommandError(
                    f"{path} is out of date with the API code. Run `minqing openapi_export` and commit the result."
                )
            self.stdout.write(f"{path} is up to date")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
