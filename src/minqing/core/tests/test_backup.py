"""Backup and restore round trips: SQLite through the online backup API, PostgreSQL through pg_dump/pg_restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from minqing.core.management.dbbackup import (
    BackupError,
    backup_postgres,
    backup_sqlite,
    default_backup_path,
    restore_postgres,
    restore_sqlite,
)

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))


def _rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, name FROM unit ORDER BY id").fetchall()
    finally:
        conn.close()


def test_sqlite_backup_then_restore_brings_rows_back(tmp_path):
    live = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(live)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE unit (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO unit (name) VALUES ('柳泉镇'), ('韩城镇')")
    conn.commit()

    backup = backup_sqlite(live, tmp_path / "backups" / "b.sqlite3")
    conn.execute("DELETE FROM unit WHERE name = '柳泉镇'")
    conn.execute("UPDATE unit SET name = '改名' WHERE name = '韩城镇'")
    conn.commit()
    conn.close()  # the restore also works with the file open, but leave the test tidy
    assert _rows(live) == [(2, "改名")]

    restore_sqlite(backup, live)

    assert _rows(live) == [(1, "柳泉镇"), (2, "韩城镇")]


def test_sqlite_backup_refuses_to_overwrite_existing_file(tmp_path):
    live = tmp_path / "live.sqlite3"
    sqlite3.connect(live).close()
    target = tmp_path / "exists.sqlite3"
    target.write_bytes(b"keep me")
    with pytest.raises(BackupError):
        backup_sqlite(live, target)
    assert target.read_bytes() == b"keep me"


def test_sqlite_restore_rejects_non_database_and_keeps_live_file(tmp_path):
    live = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(live)
    conn.execute("CREATE TABLE unit (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO unit (name) VALUES ('柳泉镇')")
    conn.commit()
    conn.close()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError):
        restore_sqlite(junk, live)
    assert _rows(live) == [(1, "柳泉镇")]


def test_default_backup_path_is_timestamped_under_data_dir(tmp_path):
    path = default_backup_path(tmp_path, {"ENGINE": "django.db.backends.sqlite3"})
    assert path.parent == tmp_path / "backups"
    assert path.name.startswith("minqing-") and path.suffix == ".sqlite3"


def _minqing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "minqing.cli", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _shell(env: dict[str, str], code: str) -> str:
    result = _minqing(env, "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_backup_and_restore_commands_round_trip_on_sqlite(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {"MINQING_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "minqing.settings"}
    migrated = _minqing(env, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    units = "from minqing.orgs.models import OrgUnit as U; "
    _shell(env, units + "U.objects.create(code='990001', name='备份测试县', kind='county')")

    output = tmp_path / "backup.sqlite3"
    backed_up = _minqing(env, "backup", "--output", str(output))
    assert backed_up.returncode == 0, backed_up.stderr
    assert output.exists()
    _shell(env, units + "U.objects.filter(code='990001').delete()")
    assert _shell(env, units + "print(U.objects.filter(code='990001').count())") == "0"

    refused = _minqing(env, "restore", str(output))  # stdin is not a terminal: needs --yes
    assert refused.returncode != 0
    assert _shell(env, units + "print(U.objects.filter(code='990001').count())") == "0"

    restored = _minqing(env, "restore", str(output), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert _shell(env, units + "print(U.objects.get(code='990001').name)") == "备份测试县"


if ON_POSTGRES:
    # Defined only on PostgreSQL runs, so on SQLite it is not collected at all (never a silent skip).

    def test_postgres_backup_then_restore_brings_rows_back(tmp_path):
        import dj_database_url
        import psycopg

        server = dj_database_url.parse(os.environ["DATABASE_URL"])
        scratch = f"minqing_backup_test_{uuid.uuid4().hex[:8]}"
        db = {**server, "NAME": scratch}
        admin_params = {
            "host": server.get("HOST") or None,
            "port": server.get("PORT") or None,
            "user": server.get("USER") or None,
            "password": server.get("PASSWORD") or None,
            "dbname": "postgres",
        }
        params = {k: v for k, v in admin_params.items() if v is not None}
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            with psycopg.connect(**{**params, "dbname": scratch}, autocommit=True) as conn:
                conn.execute("CREATE TABLE unit (id serial PRIMARY KEY, name text NOT NULL)")
                conn.execute("INSERT INTO unit (name) VALUES ('柳泉镇'), ('韩城镇')")
                before = conn.execute("SELECT id, name FROM unit ORDER BY id").fetchall()

            dump = backup_postgres(db, tmp_path / "b.pgdump")
            assert dump.stat().st_size > 0
            with psycopg.connect(**{**params, "dbname": scratch}, autocommit=True) as conn:
                conn.execute("DELETE FROM unit WHERE name = '柳泉镇'")
                conn.execute("DROP TABLE unit")

            restore_postgres(db, dump)

            with psycopg.connect(**{**params, "dbname": scratch}, autocommit=True) as conn:
                after = conn.execute("SELECT id, name FROM unit ORDER BY id").fetchall()
            assert after == before == [(1, "柳泉镇"), (2, "韩城镇")]
        finally:
            with psycopg.connect(**params, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
