"""The one URL encoding of names: reversible for any name, readable for ordinary ones."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest
from django.urls import resolve, reverse
from django.utils.encoding import repercent_broken_unicode

from dashboard.converters import NameConverter
from queuecore.names import decode_name

NAMES = [
    "default",
    "a/b",
    "50%",
    "%25",
    "%FF",
    "with space",
    "é🙂",
    decode_name(b"bad\xff\xfe"),
    "\x00",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_reversed_url_resolves_to_the_same_name(name: str) -> None:
    url = reverse("dashboard:queue", args=[name])
    # What a WSGI server and Django make of the path: one decode, broken UTF-8 quoted again.
    path = repercent_broken_unicode(unquote_to_bytes(url)).decode()
    assert resolve(path).kwargs["queue"] == name


def test_ordinary_names_stay_readable() -> None:
    assert NameConverter().to_url("emails:high") == "emails:high"
    assert reverse("dashboard:queue", args=["a/b"]) == "/queues/a%252Fb/"


def test_a_browser_s_own_percent_ff_reaches_the_byte() -> None:
    assert resolve(repercent_broken_unicode(b"/queues/x\xff/").decode()).kwargs[
        "queue"
    ] == decode_name(b"x\xff")
