"""Hosted families and their snapshots (issue 13): `replicate/<owner>/<model>` has an owner part, and a
snapshot may be a Replicate version id (64 hex) or a dated model name as well as a date.

PostgreSQL refuses to change the type of a column a trigger's WHEN names, so the read-only trigger
on the snapshot is dropped around the change and put back as it was."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

FROZEN = pgtrigger.compiler.Trigger(
    name="snapshot_frozen",
    sql=pgtrigger.compiler.UpsertTriggerSql(
        condition='WHEN (OLD."family_id" IS DISTINCT FROM (NEW."family_id") OR OLD."snapshot" IS DISTINCT FROM (NEW."snapshot"))',
        func="RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', TG_TABLE_NAME;",
        hash="d204f15d25b28b0fbc3405016bea2ddd39b66ad5",
        operation="UPDATE",
        pgid="pgtrigger_snapshot_frozen_93b3b",
        table="templates_app_modelsnapshot",
        when="BEFORE",
    ),
)


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0007_realesrgan_families"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="modelfamily",
            name="family_name_shape",
        ),
        migrations.RemoveConstraint(
            model_name="modelsnapshot",
            name="snapshot_is_date",
        ),
        pgtrigger.migrations.RemoveTrigger(model_name="modelsnapshot", name="snapshot_frozen"),
        migrations.AlterField(
            model_name="modelsnapshot",
            name="snapshot",
            field=models.CharField(
                help_text="Release date (YYYY-MM-DD), a Replicate version id (64 hex) or a dated model name (gpt-image-1-2025-04-15).",
                max_length=100,
            ),
        ),
        pgtrigger.migrations.AddTrigger(model_name="modelsnapshot", trigger=FROZEN),
        migrations.AddConstraint(
            model_name="modelfamily",
            constraint=models.CheckConstraint(
                condition=models.Q(("name__regex", "^[a-z0-9_-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)?$")),
                name="family_name_shape_with_owner",
            ),
        ),
        migrations.AddConstraint(
            model_name="modelsnapshot",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "snapshot__regex",
                        "^(\\d{4}-\\d{2}-\\d{2}|[0-9a-f]{64}|[a-z0-9][a-z0-9._-]*-\\d{4}-\\d{2}-\\d{2})$",
                    )
                ),
                name="snapshot_shape",
            ),
        ),
    ]
