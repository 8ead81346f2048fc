from django.apps import AppConfig


class CompositionConfig(AppConfig):
    name = "composition"
    verbose_name = "Pages and answers that combine templates and runs"
