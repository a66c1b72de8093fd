"""Finer planner statistics for the path columns, on PostgreSQL.

A county is well under 1 % of a province's cases. With the default statistics target (100 histogram
buckets) PostgreSQL guessed 99 of Yiyang's 4,408 cases at 1M ("location_path LIKE '/41/410327/%'"), and
so planned the keyword search by walking every case of the county and probing its search document,
instead of reading the few matching documents from the GIN index (24.6 ms → 1.3 ms with 1,000).
"""

from django.db import migrations

COLUMNS = ("location_path", "lead_path")
TARGET = 1000


def set_statistics(apps, schema_editor, target=TARGET):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return  # SQLite plans from sqlite_stat1, which has no per-column target
    table = connection.ops.quote_name(apps.get_model("cases", "Case")._meta.db_table)
    with connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(
                f"ALTER TABLE {table} ALTER COLUMN {connection.ops.quote_name(column)} SET STATISTICS {target}"
            )
        cursor.execute(f"ANALYZE {table} ({', '.join(connection.ops.quote_name(c) for c in COLUMNS)})")


def reset_statistics(apps, schema_editor):
    set_statistics(apps, schema_editor, target=-1)


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_case_unsatisfied_at")]

    operations = [migrations.RunPython(set_statistics, reset_statistics, elidable=True)]
