"""Trigram indexes so the history's text filter (ILIKE on label and annotation)
stays fast at millions of records. PostgreSQL only; SQLite has no pg_trgm."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS record_label_trgm ON runs_app_versionrecord USING gin (label gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS record_annotation_trgm ON runs_app_versionrecord USING gin (annotation gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS record_label_trgm", "DROP INDEX IF EXISTS record_annotation_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("runs_app", "0004_history_index")]
    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
