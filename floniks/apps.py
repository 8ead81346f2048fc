from django.contrib.admin.apps import AdminConfig


class FloniksAdminConfig(AdminConfig):
    default_site = "floniks.admin_site.FloniksAdminSite"
