from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Access"

    def ready(self) -> None:
        from django.core import checks

        from core import tokens
        from core.checks import proxy_without_trusted_proxies

        tokens.connect_signals()
        checks.register(proxy_without_trusted_proxies, checks.Tags.security)
