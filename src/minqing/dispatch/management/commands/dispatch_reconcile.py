"""`minqing dispatch reconcile`: record suggestions for new cases and the dispatchers' choices.

Idempotent; the scheduler runs it every ten minutes. Prints one JSON line.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from minqing.dispatch.acceptance import reconcile, record_missing


class Command(BaseCommand):
    help = "Store suggestions for submitted cases and compare them with the category and unit chosen."

    def handle(self, *args: Any, **options: Any) -> None:
        recorded = record_missing()
        result = reconcile()
        self.stdout.write(json.dumps({"recorded": recorded, **result}))
