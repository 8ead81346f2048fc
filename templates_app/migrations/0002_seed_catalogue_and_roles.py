"""Seed the built-in local/* model families (DESIGN §8) and the role groups (DESIGN §1)."""

from django.db import migrations

# family → (tier, description, [snapshots], default snapshot)
BUILTIN_FAMILIES = {
    "local/plasma": ("standard", "Procedural plasma fields: soft gradients shaped by the prompt's palette.",
                     ["2026-04-21", "2026-06-15"], "2026-06-15"),
    "local/mosaic": ("standard", "Procedural tessellations: cells and shards coloured by the prompt.",
                     ["2026-05-02", "2026-08-30"], "2026-08-30"),
    "local/aurora": ("premium", "Layered procedural light bands with fine detail; slower, richer.",
                     ["2026-03-10", "2026-07-01"], "2026-07-01"),
}
ROLE_GROUPS = ["operator", "manager", "admin"]


def seed(apps, schema_editor):
    Family = apps.get_model("templates_app", "ModelFamily")
    Snapshot = apps.get_model("templates_app", "ModelSnapshot")
    Group = apps.get_model("auth", "Group")
    for name, (tier, description, snapshots, default) in BUILTIN_FAMILIES.items():
        family, _ = Family.objects.get_or_create(
            name=name, defaults={"tier": tier, "provider": "builtin", "description": description}
        )
        for snap in snapshots:
            Snapshot.objects.get_or_create(family=family, snapshot=snap)
        family.default_snapshot = Snapshot.objects.get(family=family, snapshot=default)
        family.save(update_fields=["default_snapshot"])
    for group in ROLE_GROUPS:
        Group.objects.get_or_create(name=group)


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
