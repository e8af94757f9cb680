"""Alert channels from settings: filters, defaults, and each kind of bad setting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queuecore.alerts import Channel, ChannelError, channels_from_setting
from queuecore.health import Finding, Severity


def finding(rule: str = "latency", severity: Severity = Severity.WARNING, **kw) -> Finding:
    return Finding(rule=rule, severity=severity, message="m", action="a", **kw)


def test_channels_get_default_names_and_read_every_key():
    slack, hook, mail = channels_from_setting(
        [
            {"type": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
            {
                "type": "webhook",
                "name": "pager",
                "url": "http://127.0.0.1:9/hook",
                "secret": "s",
                "token": "t",
                "remind_every": timedelta(hours=1),
                "max_attempts": 3,
                "timeout": 2,
            },
            {"type": "email", "to": ["ops@example.com"], "from": "q@example.com"},
        ]
    )
    assert (slack.name, hook.name, mail.name) == ("slack-1", "pager", "email-3")
    assert hook.remind_every == 3600.0
    assert (hook.max_attempts, hook.timeout, hook.secret, hook.token) == (3, 2.0, "s", "t")
    assert mail.to == ("ops@example.com",)
    assert mail.from_email == "q@example.com"
    assert "/T/B/X" not in slack.target


def test_a_channel_wants_only_its_findings_severities_and_queues():
    channel = Channel(
        name="c",
        type="slack",
        url="https://x.example/h",
        findings=("latency", "cron_stalled"),
        severities=(Severity.CRITICAL,),
        queues=("default",),
    )
    assert channel.wants(finding(severity=Severity.CRITICAL, queue="default"))
    assert not channel.wants(finding(severity=Severity.WARNING, queue="default"))
    assert not channel.wants(finding(severity=Severity.CRITICAL, queue="other"))
    assert not channel.wants(finding("error_rate", Severity.CRITICAL, queue="default"))
    # The queue filter limits queue findings only; a scheduler entry finding has no queue.
    assert channel.wants(finding("cron_stalled", Severity.CRITICAL, entry_id="e"))


@pytest.mark.parametrize(
    ("item", "problem", "words"),
    [
        (
            {"type": "slack", "url": "https://x.example/h", "findings": ["latncy"]},
            "finding",
            "unknown finding(s) latncy",
        ),
        ({"type": "webhook", "url": "ftp://x.example/h"}, "url", "http(s) URL"),
        ({"type": "webhook", "url": "file:///etc/passwd"}, "url", "http(s) URL"),
        ({"type": "slack"}, "url", "http(s) URL"),
        ({"type": "email"}, "setting", "needs 'to' addresses"),
        ({"type": "sms", "url": "https://x.example"}, "setting", "'type' must be one of"),
        (
            {"type": "slack", "url": "https://x.example", "secret": "s"},
            "setting",
            "unknown key(s) secret",
        ),
        (
            {"type": "slack", "url": "https://x.example", "severities": ["high"]},
            "setting",
            "severities must be among",
        ),
        (
            {"type": "slack", "url": "https://x.example", "remind_every": "1h"},
            "setting",
            "remind_every must be seconds",
        ),
        (
            {"type": "slack", "url": "https://x.example", "max_attempts": 0},
            "setting",
            "max_attempts must be between",
        ),
    ],
)
def test_bad_channel_settings_are_refused_with_their_kind_of_problem(item, problem, words):
    with pytest.raises(ChannelError) as caught:
        channels_from_setting([item])
    assert caught.value.problem == problem
    assert words in str(caught.value)
    assert str(caught.value).startswith("ALERTS[0]: ")


def test_two_channels_may_not_share_a_name_and_alerts_must_be_a_list():
    twice = {"type": "slack", "name": "x", "url": "https://x.example/h"}
    with pytest.raises(ChannelError, match="two channels are named 'x'"):
        channels_from_setting([twice, twice])
    with pytest.raises(ChannelError, match="must be a list"):
        channels_from_setting({"type": "slack"})
    assert channels_from_setting(None) == []
