from django.contrib.admin.apps import AdminConfig


class FloniksAdminConfig(AdminConfig):
    default_site = "core.admin_site.FloniksAdminSite"
