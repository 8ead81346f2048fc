from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_comfyui_families(sender: AppConfig, **kwargs: Any) -> None:
    from templates_app.services import sync_comfyui_families

    sync_comfyui_families()


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = "Workflow templates"

    def ready(self) -> None:
        # The pools of FLONIKS_COMFYUI_POOLS appear in the catalogue once the tables exist.
        post_migrate.connect(_sync_comfyui_families, sender=self, dispatch_uid="floniks-comfyui-families")
