from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from runs_app.views import artifact

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("templates_app.api.urls")),
    path("api/", include("runs_app.api.urls")),
    path("artifacts/<str:sha256>", artifact, name="artifact"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
