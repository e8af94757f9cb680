"""``{% layout_banner %}``: the incompatible-data banner every signed-in page shows."""

from __future__ import annotations

from typing import Any

from django import template

from dashboard.layout import incompatible_report

register = template.Library()


@register.inclusion_tag("dashboard/_layout_banner.html", takes_context=True)
def layout_banner(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    # Signed-out pages (login) must not touch Redis.
    if user is None or not user.is_authenticated:
        return {"report": None}
    return {"report": incompatible_report()}
