"""The dashboard's template engine: Django's, made safe for names that are not UTF-8.

Redis names (queues, task ids, groups) reach templates as text in which bytes that are not UTF-8
are lone surrogates (``queuecore.names``). Django would fail encoding such a page, so every
rendered page passes through :func:`queuecore.names.shown` here, once, which writes those bytes
as ``\\xNN``; and the ``urlencode`` filter percent-encodes them as the bytes they are.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.template import Library
from django.template.backends.django import DjangoTemplates, Template

from queuecore.names import ERRORS, shown

register = Library()


@register.filter(is_safe=False)
def urlencode(value: Any, safe: str | None = None) -> str:
    """Django's ``urlencode``, for text holding bytes that are not UTF-8 too."""
    raw = str(value).encode("utf-8", ERRORS)
    return quote(raw, safe="/" if safe is None else safe)


class NamesShownTemplate(Template):
    def render(self, context: Any = None, request: Any = None) -> str:
        # The page is escaped already; shown() only writes lone surrogates as ASCII "\\xNN".
        return shown(super().render(context, request))


class DashboardTemplates(DjangoTemplates):
    def __init__(self, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": dict(params.get("OPTIONS", {}))}
        builtins = list(params["OPTIONS"].get("builtins", []))
        params["OPTIONS"]["builtins"] = [*builtins, __name__]
        super().__init__(params)

    def from_string(self, template_code: str) -> NamesShownTemplate:
        return NamesShownTemplate(self.engine.from_string(template_code), self)

    def get_template(self, template_name: str) -> NamesShownTemplate:
        found = super().get_template(template_name)
        return NamesShownTemplate(found.template, self)
