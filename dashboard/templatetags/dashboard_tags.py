"""Template filters that show times in the user's zone (absolute, or relative and kept current by
static/dashboard/times.js) and sizes and durations compactly."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard.presenters.formatting import format_bytes, format_duration, relative

register = template.Library()


@register.filter
def when(moment: datetime | None) -> SafeString | str:
    """A <time> in the active (user's) zone, with the relative form as its tooltip."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        relative(moment, timezone.now()),
        date_format(local, "Y-m-d H:i:s T"),
    )


@register.filter
def reltime(moment: datetime | None) -> SafeString | str:
    """A <time> that static/dashboard/times.js shows as "in 35 s" / "3 min ago" and keeps current
    in the browser; the absolute time in the active (user's) zone is its tooltip and its text
    until the script runs."""
    if moment is None:
        return "—"
    absolute = date_format(timezone.localtime(moment), "Y-m-d H:i:s T")
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time>',
        moment.isoformat(timespec="milliseconds"),
        absolute,
        absolute,
    )


@register.filter
def bytesize(size: int | None) -> str:
    return format_bytes(size)


@register.filter
def duration(delta: timedelta | None) -> str:
    return format_duration(delta)
