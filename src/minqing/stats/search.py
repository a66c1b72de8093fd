"""Chinese full-text search over cases: jieba words, FTS5 on SQLite, GIN on PostgreSQL.

A document is the case's title, content, replies and added information, cut by jieba in
search mode (long words also give their dictionary sub-words), lower-cased, split on
anything that is not a letter or digit, de-duplicated and joined with spaces. A query is
cut the same way (precise mode) and every word must occur (AND). On PostgreSQL the
tsvector lives in a stored generated column `tsv` (to_tsvector('simple', tokens)) with a GIN
index (migrations 0002/0003), unknown to the Django model. Both databases then
compare whole words, so they give the same answers (tests/test_search.py checks both
against a plain Python matcher).

A document also holds a token naming the county the case is in (`county410327`). A user whose
remit lies inside one county sees only cases located in it (a case's lead and co-units are always
in its county), so their search adds that token: the full-text index then finds the county's
matches alone instead of the province's, which would each be looked up only to be dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import jieba
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from minqing.cases.models import Case
from minqing.orgs.models import OrgUnit, UnitKind, ancestor_paths

jieba.setLogLevel(logging.WARNING)
WORD = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 12
FTS_TABLE = "stats_casesearch_fts"


def _words(pieces) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        words += WORD.findall(piece.lower())
    return words


def document_tokens(text: str, county: str = "") -> str:
    return joined_tokens(_words(jieba.cut_for_search(text or "")), county)


def joined_tokens(words: Iterable[str], county: str = "") -> str:
    """A document's tokens: the county's token first, then each word once, in order of appearance."""
    return " ".join(dict.fromkeys([county_token(county), *words] if county else words))


def county_token(code: str) -> str:
    return f"county{code}".lower()


def county_paths() -> dict[str, str]:
    """Path → code of every county unit."""
    return dict(OrgUnit.objects.filter(kind=UnitKind.COUNTY).values_list("path", "code"))


def county_of(path: str, counties: dict[str, str]) -> str:
    """The code of the county at or above the unit path ("" when there is none)."""
    return next((counties[above] for above in reversed(ancestor_paths(path)) if above in counties), "")


def remit_county(read_paths: Iterable[str], counties: dict[str, str]) -> str:
    """The one county every read path lies in, else "" (a remit above or across counties)."""
    found = {county_of(path, counties) for path in read_paths}
    return found.pop() if len(found) == 1 and "" not in found else ""


def query_terms(query: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _words(jieba.cut(query or "")):
        seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_TERMS]


def matching_case_ids_sql(terms: list[str]) -> tuple[str, list]:
    """SQL selecting the ids of cases whose document holds every term, and its parameters."""
    if connection.vendor == "postgresql":
        return (
            "SELECT case_id FROM stats_casesearchdoc WHERE tsv @@ plainto_tsquery('simple', %s)",
            [" ".join(terms)],
        )
    if connection.vendor == "sqlite":
        match = " AND ".join(f'"{term}"' for term in terms)
        return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match]
    # Any other database: a plain scan of the words (correct, not fast).
    clauses = " AND ".join(["(' ' || tokens || ' ') LIKE %s"] * len(terms))
    return f"SELECT case_id FROM stats_casesearchdoc WHERE {clauses}", [f"% {t} %" for t in terms]


def filter_by_keywords(queryset: QuerySet[Case], query: str, *, county: str = "") -> QuerySet[Case]:
    """Cases in `queryset` matching every word of `query` (the queryset unchanged when it has none).

    `county`: the queryset holds only cases located in that county, and the index may narrow to it.
    """
    terms = query_terms(query)
    if not terms:
        return queryset
    sql, params = matching_case_ids_sql([*terms, county_token(county)] if county else terms)
    return queryset.filter(pk__in=RawSQL(sql, params))


def brute_force_ids(docs: dict[int, str], query: str) -> set[int]:
    """The reference answer: ids whose token set contains every query term."""
    terms = query_terms(query)
    return {pk for pk, tokens in docs.items() if terms and set(terms) <= set(tokens.split())}
