"""The standalone dashboard's URLs: sign-in, Django's admin (users and roles), the dashboard,
all under ``--root-path`` when one is given (and ``/`` then redirects there)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView

site: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("dashboard.site_urls")),
]

root = str(getattr(settings, "ROOT_PATH", "")).strip("/")
urlpatterns = site
if root:
    to_root = login_not_required(RedirectView.as_view(url=f"/{root}/"))
    urlpatterns = [path(f"{root}/", include(site)), path("", to_root)]
