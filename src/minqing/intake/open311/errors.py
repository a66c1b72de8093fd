"""GeoReport v2 errors: `[{"code": 400, "description": "..."}]` or `<errors><error>…</error></errors>`."""

from __future__ import annotations


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description
