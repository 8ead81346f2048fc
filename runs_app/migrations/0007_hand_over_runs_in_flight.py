"""Runs in flight when steps became the unit of execution: a step the old engine was generating
(no step lease) is queued again; the sweep sends it, and releases the rest of such runs in order."""

from typing import Any

from django.db import migrations


def hand_over(apps: Any, schema_editor: Any) -> None:
    RunStep = apps.get_model("runs_app", "RunStep")
    RunStep.objects.filter(
        status="running", lease_expires_at__isnull=True, run__status__in=["queued", "running"]
    ).update(status="queued", sent_at=None)


class Migration(migrations.Migration):
    dependencies = [("runs_app", "0006_steps_as_units")]
    operations = [migrations.RunPython(hand_over, migrations.RunPython.noop)]
