"""Catalogue a few hosted models (issue 13): Replicate's SDXL at a pinned version, and two OpenAI image
models at their dated names. They run only where the worker has the provider's key (REPLICATE_API_TOKEN,
OPENAI_API_KEY); without it the catalogue lists them as unavailable and runs on them are refused.
An admin adds any other Replicate model or OpenAI snapshot with POST /api/models/."""

from django.db import migrations

FAMILIES = {
    "replicate/stability-ai/sdxl": (
        "replicate",
        "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b",
        "Stable Diffusion XL on Replicate, pinned to one version of the model (seeded).",
    ),
    "openai/gpt-image-1-mini": (
        "openai",
        "gpt-image-1-mini-2025-10-06",
        "OpenAI's GPT Image 1 mini. Takes no seed: reproducing a record of it can at best be near.",
    ),
    "openai/gpt-image-1.5": (
        "openai",
        "gpt-image-1.5-2025-12-16",
        "OpenAI's GPT Image 1.5. Takes no seed: reproducing a record of it can at best be near.",
    ),
}


def seed(apps, schema_editor):
    Family = apps.get_model("templates_app", "ModelFamily")
    Snapshot = apps.get_model("templates_app", "ModelSnapshot")
    for name, (provider, snapshot_name, description) in FAMILIES.items():
        family, _ = Family.objects.get_or_create(
            name=name, defaults={"tier": "premium", "provider": provider, "description": description}
        )
        snapshot, _ = Snapshot.objects.get_or_create(family=family, snapshot=snapshot_name)
        if family.default_snapshot_id is None:
            family.default_snapshot = snapshot
            family.save(update_fields=["default_snapshot"])


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0008_hosted_catalogue")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
