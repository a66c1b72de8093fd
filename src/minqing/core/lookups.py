"""`startswith` on text columns that SQLite can answer from an index.

Unit paths (`/41/410327/410327102/`) are the jurisdiction filter of nearly every read, always as a
prefix. SQLite's LIKE is case-insensitive, so it cannot use an index for `LIKE 'prefix%'` and scans
the table (a township's dashboard at a million cases: 376 ms on one count). On SQLite the lookup is
the equivalent byte range instead, which an index answers; it is also case-sensitive, as Django
documents `startswith` to be. PostgreSQL keeps LIKE, which its `varchar_pattern_ops` indexes serve.
"""

from __future__ import annotations

import sys

from django.db.models import CharField, TextField
from django.db.models.lookups import StartsWith


class StartsWithRange(StartsWith):
    def as_sqlite(self, compiler, connection):
        if not (self.rhs_is_direct_value() and isinstance(self.rhs, str) and self.rhs):
            return self.as_sql(compiler, connection)
        column, params = self.process_lhs(compiler, connection)
        upper = prefix_upper_bound(self.rhs)
        if upper is None:
            return f"{column} >= %s", (*params, self.rhs)
        return f"({column} >= %s AND {column} < %s)", (*params, self.rhs, upper)


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` (None: no string is).

    SQLite compares TEXT as UTF-8 bytes, which is code-point order: move the last character one code
    point on, skipping the surrogates (not encodable); a last character that cannot move is dropped.
    """
    stem = prefix.rstrip(chr(sys.maxunicode))
    if not stem:
        return None
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return stem[:-1] + chr(following)


def register() -> None:
    for field in (CharField, TextField):
        field.register_lookup(StartsWithRange, lookup_name="startswith")
