"""The Metrics page: Asynqmon's nine charts from a real Prometheus, its window controls and its
failures (a banner, never a 500)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from dashboard.presenters import timeseries
from tests.support.prometheus import (  # noqa: F401 (fixtures)
    ScrapedQueue,
    prometheus_fixture,
    scraped_queue_fixture,
)
from tests.support.redis_server import free_port

CHART_KEYS = [spec.key for spec in timeseries.CHARTS]


@pytest.fixture
def prometheus_at(settings: Any, queuecore_settings: str) -> Callable[[str], None]:
    def point(url: str) -> None:
        settings.QUEUECORE = {**settings.QUEUECORE, "PROMETHEUS_URL": url}

    return point


def links(html: str) -> dict[str, dict[str, list[str]]]:
    """The page's control links by their text, each as parsed query parameters."""
    found = {}
    for href, text in re.findall(r'<a[^>]*href="(\?[^"]*)"[^>]*>([^<]+)</a>', html):
        found[text.strip()] = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
    return found


# -- with a real Prometheus ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_draws_the_nine_charts_with_a_line_for_the_seeded_queue(
    viewer: Client, scraped_queue: ScrapedQueue
) -> None:
    response = viewer.get("/prometheus/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'data-chart="([a-z_]+)"', html) == CHART_KEYS
    assert html.count(f'data-series="{scraped_queue.name}"') >= 6
    drawn = re.findall(rf'data-series="{scraped_queue.name}">.*?<(polyline|circle) ', html, re.S)
    assert len(drawn) >= 6
    assert "banner-error" not in html
    assert 'href="/prometheus/" aria-current="page">Metrics</a>' in html


@pytest.mark.slow
def test_the_queue_filter_draws_only_the_chosen_queue(
    viewer: Client, scraped_queue: ScrapedQueue
) -> None:
    html = viewer.get(f"/prometheus/?queues={scraped_queue.other}").content.decode()
    assert f'data-series="{scraped_queue.other}"' in html
    assert f'data-series="{scraped_queue.name}"' not in html
    assert f'name="queues" value="{scraped_queue.other}" checked' in html
    assert f'name="queues" value="{scraped_queue.name}" >' in html


@pytest.mark.slow
def test_a_window_that_ended_before_the_queue_existed_shows_no_line_for_it(
    viewer: Client, scraped_queue: ScrapedQueue
) -> None:
    an_hour_ago = int(time.time()) - 3600
    html = viewer.get(f"/prometheus/?duration=600&endtime={an_hour_ago}").content.decode()
    assert f'data-series="{scraped_queue.name}"' not in html


# -- the window controls ------------------------------------------------------------------------


def test_presets_keep_the_end_and_queues_and_shifts_move_by_one_duration(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    end = int(time.time()) - 86400
    html = viewer.get(f"/prometheus/?duration=3600&endtime={end}&queues=a,b").content.decode()
    controls = links(html)
    assert controls["6h"] == {"duration": ["21600"], "endtime": [str(end)], "queues": ["a,b"]}
    assert controls["8d"]["duration"] == ["691200"]
    assert controls["← Earlier"]["endtime"] == [str(end - 3600)]
    assert controls["Later →"]["endtime"] == [str(end + 3600)]
    assert "endtime" not in controls["Now"]


def test_a_live_window_has_no_later_and_shifting_back_fixes_its_end(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    before = int(time.time())
    controls = links(viewer.get("/prometheus/").content.decode())
    assert "Later →" not in controls
    assert controls["1h"] == {"duration": ["3600"]}
    assert int(controls["← Earlier"]["endtime"][0]) >= before - 3600


def test_shifting_later_up_to_now_returns_to_the_live_window(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    end = int(time.time()) - 60
    controls = links(viewer.get(f"/prometheus/?duration=3600&endtime={end}").content.decode())
    assert controls["Later →"] == {"duration": ["3600"]}


def test_a_chosen_end_time_redirects_to_the_window_with_that_endtime(
    viewer: Client, prometheus_at: Callable[[str], None], settings: Any
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    response = viewer.get("/prometheus/?duration=21600&queues=a&end=2026-01-31T14:30")
    assert response.status_code == 302
    # The viewer's zone is UTC (the default preference).
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "duration": ["21600"],
        "endtime": ["1769869800"],
        "queues": ["a"],
    }
    now = viewer.get("/prometheus/?duration=3600&end=")
    assert parse_qs(urlsplit(now["Location"]).query) == {"duration": ["3600"]}


@pytest.mark.parametrize(
    ("span", "seconds"), [("90m", "5400"), ("1d12h", "129600"), ("1w", "604800"), ("600", "600")]
)
def test_a_typed_duration_becomes_the_windows_duration_in_seconds(
    viewer: Client, prometheus_at: Callable[[str], None], span: str, seconds: str
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    response = viewer.get(f"/prometheus/?span={span}&end=")
    assert parse_qs(urlsplit(response["Location"]).query) == {"duration": [seconds]}


def test_the_form_shows_the_duration_and_an_empty_end_while_live(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    html = viewer.get("/prometheus/?duration=95400").content.decode()
    assert 'name="span" value="1d2h30m"' in html
    assert 'name="end" value=""' in html


@pytest.mark.parametrize(
    "query",
    [
        "duration=abc",
        "endtime=x",
        "duration=-5",
        "duration=999999999",
        "end=yesterday",
        "span=forever",
        "span=0m",
    ],
)
def test_a_bad_window_is_a_400_banner(
    viewer: Client, prometheus_at: Callable[[str], None], query: str
) -> None:
    prometheus_at(f"http://127.0.0.1:{free_port()}")
    response = viewer.get(f"/prometheus/?{query}")
    assert response.status_code == 400
    assert b'class="banner' in response.content


# -- configuration, access and failures ---------------------------------------------------------


def test_an_unreachable_prometheus_is_a_502_banner_above_the_controls(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    prometheus_at(url)
    response = viewer.get("/prometheus/")
    assert response.status_code == 502
    html = response.content.decode()
    assert "Prometheus did not answer" in html
    assert f"Prometheus at {url} is unreachable" in html
    assert "← Earlier" in html
    assert "<polyline" not in html


def test_without_a_prometheus_url_the_page_is_404_and_the_nav_has_no_link(
    viewer: Client,
) -> None:
    assert viewer.get("/prometheus/").status_code == 404
    assert b">Metrics</a>" not in viewer.get("/").content


def test_with_a_prometheus_url_the_nav_links_the_metrics_page(
    viewer: Client, prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at("http://127.0.0.1:9")
    assert b'<a href="/prometheus/" >Metrics</a>' in viewer.get("/").content


def test_the_page_needs_a_dashboard_role(
    login: Callable[[str | None], Client], prometheus_at: Callable[[str], None]
) -> None:
    prometheus_at("http://127.0.0.1:9")
    assert login(None).get("/prometheus/").status_code == 403


# -- line geometry (pure) -----------------------------------------------------------------------


def matrix(*series: tuple[str, list[tuple[float, str]]]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"queue": q}, "values": [[t, v] for t, v in values]}
                for q, values in series
            ],
        },
    }


def test_a_line_breaks_at_a_gap_and_skips_nan() -> None:
    answer = matrix(("default", [(0, "1"), (10, "2"), (20, "NaN"), (30, "4"), (60, "5")]))
    chart = timeseries.line_chart(timeseries.CHARTS[3], answer, start=0, end=60, step=10)
    (line,) = chart.lines
    # 0-10 is one run; 20 is NaN, so 10 -> 30 is a gap; 30 and 60 are each alone.
    assert len(line.runs) == 1
    assert len(line.dots) == 2
    assert (line.last, line.peak) == ("5", "5")
    assert chart.labels[0].text == "5"  # the axis tops out at a round number


def test_series_are_sorted_and_coloured_and_an_empty_answer_is_an_empty_chart() -> None:
    answer = matrix(("low", [(0, "1"), (10, "1")]), ("critical", [(0, "2"), (10, "2")]))
    chart = timeseries.line_chart(timeseries.CHARTS[0], answer, start=0, end=10, step=10)
    assert [line.label for line in chart.lines] == ["critical", "low"]
    assert chart.lines[0].color != chart.lines[1].color
    assert chart.lines[0].last == "2/s"
    empty = timeseries.line_chart(timeseries.CHARTS[0], {}, start=0, end=10, step=10)
    assert empty.empty


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.25, "ratio", "25.0%"),
        (1536, "bytes", "1.5 KB"),
        (90, "seconds", "1m30s"),
        (0, "seconds", "0s"),
        (0.123456, "per_second", "0.123/s"),
        (1200, "count", "1,200"),
        (2.5, "count", "2.5"),
        (0.004, "count", "0"),
    ],
)
def test_values_are_shown_in_their_unit(value: float, unit: str, shown: str) -> None:
    assert timeseries.format_value(value, unit) == shown


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (4500, 5000)]
)
def test_the_axis_top_is_a_round_number(value: float, ceiling: float) -> None:
    assert timeseries.nice_ceiling(value) == pytest.approx(ceiling)


def test_a_bytes_axis_tops_out_at_a_round_size() -> None:
    assert timeseries.format_value(timeseries.axis_top(7000, "bytes"), "bytes") == "10.0 KB"
    assert timeseries.format_value(timeseries.axis_top(3_500_000, "bytes"), "bytes") == "5.0 MB"
