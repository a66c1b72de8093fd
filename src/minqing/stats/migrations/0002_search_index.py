"""The full-text index over CaseSearchDoc.tokens: FTS5 on SQLite, GIN on PostgreSQL."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE stats_casesearch_fts USING fts5("
    "tokens, content='stats_casesearchdoc', content_rowid='case_id', tokenize='unicode61')",
    "CREATE TRIGGER stats_casesearchdoc_ai AFTER INSERT ON stats_casesearchdoc BEGIN "
    "INSERT INTO stats_casesearch_fts(rowid, tokens) VALUES (new.case_id, new.tokens); END",
    "CREATE TRIGGER stats_casesearchdoc_ad AFTER DELETE ON stats_casesearchdoc BEGIN "
    "INSERT INTO stats_casesearch_fts(stats_casesearch_fts, rowid, tokens) VALUES ('delete', old.case_id, old.tokens); "
    "END",
    "CREATE TRIGGER stats_casesearchdoc_au AFTER UPDATE ON stats_casesearchdoc BEGIN "
    "INSERT INTO stats_casesearch_fts(stats_casesearch_fts, rowid, tokens) VALUES ('delete', old.case_id, old.tokens); "
    "INSERT INTO stats_casesearch_fts(rowid, tokens) VALUES (new.case_id, new.tokens); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS stats_casesearchdoc_au",
    "DROP TRIGGER IF EXISTS stats_casesearchdoc_ad",
    "DROP TRIGGER IF EXISTS stats_casesearchdoc_ai",
    "DROP TABLE IF EXISTS stats_casesearch_fts",
]
POSTGRES_FORWARD = [
    "CREATE INDEX stats_casesearchdoc_gin ON stats_casesearchdoc USING gin (to_tsvector('simple', tokens))",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS stats_casesearchdoc_gin"]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
