"""Idempotency-Key for every POST.

The first request with a key runs the action and inserts its record with the response, in one
transaction (one INSERT, after the action; or, for a case's registration, in the same statement as
the case). A repeat with the same key and the same request gets the stored response back (same status,
same body, header `Idempotent-Replayed: true`), and whatever it did is undone: a repeat runs the action
again, fails on the unique (user, key) index and rolls back entirely before the replay (no lookup
first, which saves every first request a round trip). A repeat leaves no file behind: a registration's
files are removed again when its statement fails on the key (`core.inserts.gathered_inserts`), and other
actions with files look the key up first. The same key with a different request is refused (422).

Concurrent duplicates meet on the same index: on PostgreSQL the second insert waits for the first
transaction, then fails, which rolls back the second action entirely, and the winner's response is
replayed; SQLite's IMMEDIATE transactions serialise them outright. (Outside a registration, a lost
race can leave the loser's uploaded files in storage without a row; nothing in the database refers to
them.) Only successful responses are stored: a refused request changed nothing, so it may simply be
retried (with the same key) once the problem is fixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja import Header
from pydantic import BaseModel

from minqing.api.models import IdempotencyRecord
from minqing.core import crypto
from minqing.core.errors import DomainError
from minqing.core.inserts import gathered_inserts, insert_together

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7e]{1,100}$"
_KEY_RE = re.compile(KEY_PATTERN)
REPLAYED_HEADER = "Idempotent-Replayed"
JSON_TYPE = "application/json; charset=utf-8"


class IdempotencyKeyReused(DomainError):
    status_code = 422

    def __init__(self) -> None:
        super().__init__("Idempotency-Key 已用于不同的请求", code="idempotency_key_reused")


def render(status: int, data: Any, out: type[BaseModel]) -> HttpResponse:
    """The JSON response every POST success goes through: validated by `out`, so a replay is byte-identical."""
    body = out.model_validate(data).model_dump_json(by_alias=True)  # compact, UTF-8 as is
    return HttpResponse(body, status=status, content_type=JSON_TYPE)


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 over method, path, query and the body's content (not its encoding details)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode())
    content_type = request.content_type or ""
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields = sorted((k, v) for k in request.POST for v in request.POST.getlist(k))
        digest.update(json.dumps(fields, ensure_ascii=False).encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(f"{name}:{upload.name}:{upload_digest(upload)}\n".encode())
    else:
        body = request.body
        with contextlib.suppress(ValueError):
            body = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False).encode()
        digest.update(body)
    return digest.hexdigest()


def upload_digest(upload) -> str:
    """SHA-256 of an uploaded file, computed once per request: the fingerprint and the stored
    attachment's checksum (`cases.attachments.UploadedFile.sha256`) share it."""
    known = getattr(upload, "minqing_sha256", None)
    if known is None:
        upload.seek(0)
        # An upload kept in memory is hashed in place, without copying it (a file on disk in chunks).
        known = upload.minqing_sha256 = hashlib.file_digest(upload.file, "sha256").hexdigest()
        upload.seek(0)
    return known


def _client_id(request: HttpRequest) -> str:
    return crypto.lookup_hash(request.META.get("REMOTE_ADDR") or "unknown")


def _scope(request: HttpRequest, user) -> dict[str, Any]:
    if user is not None and getattr(user, "pk", None):
        return {"user": user, "client": ""}
    return {"user": None, "client": _client_id(request)}


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    response = HttpResponse(crypto.decrypt(record.response_body), status=record.status_code, content_type=JSON_TYPE)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(
    request: HttpRequest,
    key: str | None,
    status: int,
    out: type[BaseModel],
    produce: Callable[[], Any],
    *,
    user=None,
    atomic: bool = True,
    gathered: bool = False,
) -> HttpResponse:
    """Run `produce` (the action, returning the response data) at most once per key.

    `user` defaults to the authenticated user; anonymous calls are scoped to the client address.
    `atomic=False` is for verbs that must commit their own work even when they fail
    (SMS login counts a wrong guess before refusing): the record is written after
    the verb, so a concurrent duplicate is not held back by the index, only by the verb.
    `gathered=True` is for actions that never read back the rows they add (registering a case): their
    rows and the record go in as one statement (`core.inserts.gathered_inserts`, which undoes the
    files if that statement fails), so a repeat with files needs no lookup first either.
    """
    if user is None:
        user = getattr(request, "auth", None)
    if key is None:
        return render(status, produce(), out)
    if not _KEY_RE.match(key):
        raise DomainError("Idempotency-Key 须为 1 到 100 个可见 ASCII 字符", code="idempotency_key_invalid")
    scope = _scope(request, user)
    fingerprint = request_fingerprint(request)
    # A retry is rare. Without files, letting it run and lose on the unique index (then replaying) costs
    # less than a lookup before every first request. With files, look first: a losing run would have
    # written its files to storage already.
    if not atomic or (request.FILES and not gathered):
        existing = _record(key, scope)
        if existing is not None:
            return _replay(existing, fingerprint)
    if not atomic:
        response = render(status, produce(), out)
        try:
            with transaction.atomic():
                _store(request, key, scope, fingerprint, status, response)
        except IntegrityError:
            pass
        return response
    try:
        with gathered_inserts() if gathered else transaction.atomic():  # the former is a transaction too
            response = render(status, produce(), out)
            _store(request, key, scope, fingerprint, status, response)
        return response
    except (IntegrityError, DomainError):
        # A same-key twin may have committed while this one waited (on the unique index, or on a
        # row lock that then made the action refuse): replay it. Otherwise the error is our own.
        winner = _record(key, scope)
        if winner is None:
            raise
    return _replay(winner, fingerprint)


def _record(key: str, scope: dict[str, Any]) -> IdempotencyRecord | None:
    # Written out: it runs before every request with files, and the ORM took longer to build it than
    # the database takes to answer. Each branch matches one partial unique index (no ORDER BY either,
    # which could lead the planner away from it).
    if scope["user"] is not None:
        who, value = "user_id = %s", scope["user"].pk
    else:
        who, value = "user_id IS NULL AND client = %s", scope["client"]
    found = IdempotencyRecord.objects.raw(
        f"SELECT id, request_hash, status_code, response_body FROM {IdempotencyRecord._meta.db_table}"
        f" WHERE key = %s AND {who} LIMIT 1",
        [key, value],
    )
    return next(iter(found), None)


def _store(
    request: HttpRequest, key: str, scope: dict[str, Any], fingerprint: str, status: int, response: HttpResponse
) -> None:
    record = IdempotencyRecord(
        key=key,
        method=request.method or "",
        path=request.path[:255],
        request_hash=fingerprint,
        status_code=status,
        response_body=crypto.encrypt(response.content.decode()),
        **scope,
    )
    insert_together([record])  # the compiled statement is reused: every POST writes one


def idempotency_header() -> Any:
    """The documented `Idempotency-Key` header parameter (a fresh one per operation)."""
    return Header(
        None,
        alias=HEADER,
        max_length=100,
        pattern=KEY_PATTERN,
        description="幂等键（可选，1–100 个可见 ASCII 字符）：同一键重复提交返回同一结果，不会重复创建",
    )
