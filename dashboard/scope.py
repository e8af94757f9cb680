"""The instance a dashboard request is about, and links that stay on it.

A page of instance ``staging`` lives under the ``dashboard@staging`` namespace; ``{% url %}`` in its
templates follows that namespace by itself, and :func:`reverse` here makes Python-side links
(redirects, presenters' URLs) do the same, so no view names its instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import urls
from django.http import HttpResponseRedirect

from queuecore.contrib.django import instances


def reverse(
    viewname: str, args: Sequence[Any] | None = None, kwargs: dict[str, Any] | None = None
) -> str:
    """``django.urls.reverse`` within the current instance's namespaces."""
    app, _, _ = viewname.partition(":")
    here = instances.namespace(app, instances.current_name())
    return urls.reverse(viewname, args=args, kwargs=kwargs, current_app=here)


def redirect(viewname: str, *args: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(viewname, args=args))
