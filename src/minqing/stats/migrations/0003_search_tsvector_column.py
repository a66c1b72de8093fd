"""PostgreSQL: keep the tsvector in a stored generated column, so index rechecks and
matches do not recompute to_tsvector for every candidate row. SQLite: nothing to do."""

from django.db import migrations

POSTGRES_FORWARD = [
    "DROP INDEX IF EXISTS stats_casesearchdoc_gin",
    "ALTER TABLE stats_casesearchdoc ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED",
    "CREATE INDEX stats_casesearchdoc_tsv ON stats_casesearchdoc USING gin (tsv)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS stats_casesearchdoc_tsv",
    "ALTER TABLE stats_casesearchdoc DROP COLUMN IF EXISTS tsv",
    "CREATE INDEX stats_casesearchdoc_gin ON stats_casesearchdoc USING gin (to_tsvector('simple', tokens))",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("stats", "0002_search_index")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
