"""Several new rows in one round trip.

On a busy gthread worker every round trip to the database gives up the GIL and waits to get it back,
so a request's latency grows with its statement count. On PostgreSQL, `insert_together` writes new
model instances with one statement: each INSERT is a data-modifying CTE, and foreign keys between
them are checked at commit (Django declares them DEFERRABLE INITIALLY DEFERRED). Elsewhere it saves
them one by one, in order.

Only for plain new rows: no model signals are sent, and the models must not rely on them.

Inside `gathered_inserts()`, the calls gather their rows instead, and all of them go in as one
statement when the block ends: a request that adds a case and then its idempotency record makes
one round trip for both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connections, transaction
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError

# Work outside the database that goes with new rows (writing their files). It returns the function
# that undoes it, called if the rows do not go in after all.
Effect = Callable[[], Callable[[], None]]


@dataclass
class _Gathered:
    using: str
    one_statement: bool = False  # PostgreSQL outside a transaction: the closing statement is the transaction
    objects: list[Model] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


_gathered: ContextVar[_Gathered | None] = ContextVar("minqing_gathered_inserts", default=None)


def insert_together(objects: Sequence[Model], *, using: str = "default", effect: Effect | None = None) -> None:
    """INSERT every object (all unsaved); those without a primary key get the one the database draws.

    `effect` runs once the rows are in; if it fails, the caller's transaction undoes the rows. Call it
    inside a transaction: saved one by one, a failing row would otherwise leave the rows before it.
    """
    gathering = _gathered.get()
    if gathering is not None and gathering.using == using:
        gathering.objects.extend(objects)
        if effect is not None:
            gathering.effects.append(effect)
        return
    _insert(objects, using)
    if effect is not None:
        effect()


@contextlib.contextmanager
def gathered_inserts(using: str = "default") -> Iterator[None]:
    """Gather the block's `insert_together` calls into one statement, run when the block ends, with
    their effects. Nothing is written if the block raises.

    Only for code that does not read back what it inserts inside the block: rows without a preset
    primary key get theirs at the end, and the database sees none of them before.

    The block is one transaction. On PostgreSQL, outside a caller's transaction, it needs none: every
    write of the block is its closing statement, atomic on its own, so the block reads in autocommit and
    spares BEGIN and COMMIT (two round trips per request). Any other write inside it would commit on
    its own, so it is refused (TransactionManagementError). There the effects run first, and are undone
    if the statement fails (a repeated Idempotency-Key, say); with a transaction they run after the
    rows, and their failure rolls the rows back.
    """
    if _gathered.get() is not None:  # nested: the enclosing block gathers (calls for another database run at once)
        yield
        return
    connection = connections[using]
    gathering = _Gathered(using, one_statement=connection.vendor == "postgresql" and not connection.in_atomic_block)
    token = _gathered.set(gathering)
    try:
        if not gathering.one_statement:
            with transaction.atomic(using=using):
                yield
                _insert(gathering.objects, using)
                _run(gathering.effects)
            return
        with connection.execute_wrapper(_refuse_writes):
            yield
    finally:
        _gathered.reset(token)
    undo = _run(gathering.effects)
    try:
        _insert(gathering.objects, using)
    except BaseException:
        undo()
        raise


def _run(effects: Sequence[Effect]) -> Callable[[], None]:
    """Run the effects in order; if one fails, undo those before it. Returns the undo of them all."""
    undos: list[Callable[[], None]] = []

    def undo() -> None:
        for step in reversed(undos):
            step()

    try:
        for effect in effects:
            undos.append(effect())
    except BaseException:
        undo()
        raise
    return undo


def atomic_writes(using: str = "default") -> contextlib.AbstractContextManager:
    """A verb's transaction (`transaction.atomic(savepoint=False)`); none inside a gathered block that
    writes with one statement (`gathered_inserts`), where it would only add BEGIN and COMMIT."""
    gathering = _gathered.get()
    if gathering is not None and gathering.using == using and gathering.one_statement:
        return contextlib.nullcontext()
    return transaction.atomic(using=using, savepoint=False)


_WRITES = ("insert", "update", "delete", "merge")


def _refuse_writes(execute, sql, params, many, context):
    if sql.lstrip()[:6].lower().startswith(_WRITES):
        raise TransactionManagementError(
            "a write inside gathered_inserts() outside a transaction would commit on its own; use insert_together"
        )
    return execute(sql, params, many, context)


def _insert(objects: Sequence[Model], using: str) -> None:
    if not objects:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        for obj in objects:
            obj.save(force_insert=True, using=using)
        return
    ctes, params = [], []
    for index, obj in enumerate(objects):
        sql, values = _insert_sql(obj, connection)
        ctes.append(f"i{index} AS ({sql})")
        params.extend(values)
    keys = ", ".join(f"(SELECT * FROM i{index})" for index in range(len(objects)))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {keys}", params)
        row = cursor.fetchone()
    for obj, pk in zip(objects, row, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using


# (model, database alias, with its primary key) → the fields and the INSERT … RETURNING <pk> that
# Django compiles for them. Compiling costs more than running it, and the statement is the same for
# every row of the same shape; only the parameters change.
_statements: dict[tuple[type[Model], str, bool], tuple[list[Field], str]] = {}


def _insert_sql(obj: Model, connection) -> tuple[str, tuple]:
    """The INSERT … RETURNING <pk> that `obj.save()` would run, as Model._save_table builds it."""
    has_pk = obj.pk is not None
    key = (type(obj), connection.alias, has_pk)
    known = _statements.get(key)
    if known is not None:
        fields, sql = known
        values = [field.pre_save(obj, add=True) for field in fields]
        if not any(hasattr(value, "resolve_expression") for value in values):
            return sql, tuple(
                field.get_db_prep_save(v, connection=connection) for field, v in zip(fields, values, strict=True)
            )
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and (has_pk or f is not meta.auto_field)]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    # Only a statement of plain placeholders holds for other rows: not one built around an expression
    # value, nor for a field that writes its own placeholder.
    plain = not any(hasattr(getattr(obj, f.attname), "resolve_expression") for f in fields)
    if plain and not any(hasattr(f, "get_placeholder") for f in fields):
        _statements[key] = (fields, sql)
    return sql, tuple(params)


# psycopg rewrites each statement's %s placeholders to $n, and caches the rewrite only for statements
# up to 4 KB with at most 50 parameters (it expects longer ones to be one-off bulk inserts). A case's
# registration is one such long statement, rewritten anew on every submission: about 8% of a
# submission's Python time. The cache keeps 128 statements, so raising the bounds costs little memory.
LONG_STATEMENT_BYTES, LONG_STATEMENT_PARAMS = 32 * 1024, 400


def cache_long_statements() -> None:
    """Let psycopg cache the placeholder rewrite of statements as long as `insert_together` writes."""
    try:
        from psycopg import _queries
    except ImportError:  # no PostgreSQL driver installed
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, LONG_STATEMENT_BYTES)
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, LONG_STATEMENT_PARAMS)
