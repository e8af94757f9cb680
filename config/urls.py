"""Project URLs. Every dashboard and API URL requires login (see dashboard.urls)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's): no 404 for it."""
    return HttpResponsePermanentRedirect(static("dashboard/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # healthz, metrics, the JSON API and the pages: the one include a project of its own uses too.
    path("", include("dashboard.site_urls")),
]
