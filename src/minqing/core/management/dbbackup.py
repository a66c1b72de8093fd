"""Database backup and restore for SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore).

The functions take plain paths and Django-style database settings dicts, so they
can be used (and tested) on databases other than the live one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2")


class BackupError(Exception):
    pass


def engine_kind(db: dict) -> str:
    engine = db.get("ENGINE", "")
    if engine == SQLITE_ENGINE:
        return "sqlite"
    if engine in POSTGRES_ENGINES:
        return "postgresql"
    raise BackupError(f"backups are supported for SQLite and PostgreSQL, not {engine or 'an unknown engine'}")


def default_backup_path(data_dir: Path, db: dict, *, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if engine_kind(db) == "sqlite" else "pgdump"
    return Path(data_dir) / "backups" / f"minqing-{stamp}.{suffix}"


def _copy_sqlite(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot page by page while
    # other connections keep reading and writing (WAL included).
    src = sqlite3.connect(source)
    try:
        dest = sqlite3.connect(target)
        try:
            src.backup(dest)
        finally:
            dest.close()
    finally:
        src.close()


def backup_sqlite(src_path: str | os.PathLike, dest_path: str | os.PathLike) -> Path:
    source, target = Path(src_path), Path(dest_path)
    if not source.exists():
        raise BackupError(f"SQLite database {source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise BackupError(f"{target} already exists; choose another output path")
    _copy_sqlite(source, target)
    return target


def restore_sqlite(backup_path: str | os.PathLike, live_path: str | os.PathLike) -> None:
    """Copy the backup over the live database through the backup API (safe with WAL and open readers)."""
    source, target = Path(backup_path), Path(live_path)
    if not source.exists():
        raise BackupError(f"backup file {source} does not exist")
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{source} is not a sound SQLite database")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} is not an SQLite database: {error}") from error
    finally:
        check.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(source, target)


def _pg_connection_args(db: dict) -> tuple[list[str], dict[str, str]]:
    args: list[str] = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return args, env


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise BackupError(f"{tool} not found; install the PostgreSQL client tools (Debian: postgresql-client)")
    return path


def _run(argv: list[str], env: dict[str, str]) -> None:
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed ({completed.returncode}): {completed.stderr.strip()}")


def backup_postgres(db: dict, dest_path: str | os.PathLike) -> Path:
    target = Path(dest_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise BackupError(f"{target} already exists; choose another output path")
    args, env = _pg_connection_args(db)
    _run([_require("pg_dump"), "-Fc", *args, "--file", str(target), "--dbname", str(db["NAME"])], env)
    return target


def restore_postgres(db: dict, backup_path: str | os.PathLike) -> None:
    source = Path(backup_path)
    if not source.exists():
        raise BackupError(f"backup file {source} does not exist")
    args, env = _pg_connection_args(db)
    tool = _require("pg_restore")
    _run([tool, "--clean", "--if-exists", "--no-owner", *args, "--dbname", str(db["NAME"]), str(source)], env)


def backup_database(db: dict, dest_path: str | os.PathLike) -> Path:
    if engine_kind(db) == "sqlite":
        return backup_sqlite(db["NAME"], dest_path)
    return backup_postgres(db, dest_path)


def restore_database(db: dict, backup_path: str | os.PathLike) -> None:
    if engine_kind(db) == "sqlite":
        restore_sqlite(backup_path, db["NAME"])
    else:
        restore_postgres(db, backup_path)
