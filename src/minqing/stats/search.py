"""Chinese full-text search over cases: jieba words, FTS5 on SQLite, GIN on PostgreSQL.

A document is the case's title, content, replies and added information, cut by jieba in
search mode (long words also give their dictionary sub-words), lower-cased, split on
anything that is not a letter or digit, de-duplicated and joined with spaces. A query is
cut the same way (precise mode) and every word must occur (AND). On PostgreSQL the
tsvector lives in a stored generated column `tsv` (to_tsvector('simple', tokens)) with a GIN
index (migrations 0002/0003), unknown to the Django model. Both databases then
compare whole words, so they give the same answers (tests/test_search.py checks both
against a plain Python matcher).
"""

from __future__ import annotations

import logging
import re

import jieba
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from minqing.cases.models import Case

jieba.setLogLevel(logging.WARNING)
WORD = re.compile(r"[^\W_]+")
MAX_QUERY_TERMS = 12
FTS_TABLE = "stats_casesearch_fts"


def _words(pieces) -> list[str]:
    words: list[str] = []
    for piece in pieces:
        words += WORD.findall(piece.lower())
    return words


def document_tokens(text: str) -> str:
    seen: dict[str, None] = {}
    for word in _words(jieba.cut_for_search(text or "")):
        seen.setdefault(word, None)
    return " ".join(seen)


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


def filter_by_keywords(queryset: QuerySet[Case], query: str) -> QuerySet[Case]:
    """Cases in `queryset` matching every word of `query` (the queryset unchanged when it has none)."""
    terms = query_terms(query)
    if not terms:
        return queryset
    sql, params = matching_case_ids_sql(terms)
    return queryset.filter(pk__in=RawSQL(sql, params))


def brute_force_ids(docs: dict[int, str], query: str) -> set[int]:
    """The reference answer: ids whose token set contains every query term."""
    terms = query_terms(query)
    return {pk for pk, tokens in docs.items() if terms and set(terms) <= set(tokens.split())}
