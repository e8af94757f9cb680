"""``{% prometheus_configured as flag %}``: whether the nav shows the Metrics page's link."""

from __future__ import annotations

from django import template

from dashboard.prometheus import configured_url

register = template.Library()


@register.simple_tag
def prometheus_configured() -> bool:
    return bool(configured_url())
