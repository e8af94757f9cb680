"""The overview's Findings panel: each health finding, its tone, and a link to its subject."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from dashboard.scope import reverse
from queuecore.health import Finding, Severity

# The task list a queue finding is best looked at in.
STATE_OF_RULE = {
    "latency": "pending",
    "no_consumer": "pending",
    "paused_backlog": "pending",
    "orphaned_active": "active",
    "error_rate": "retry",
    "archive_cap": "archived",
    "mistyped_keys": "",
}


@dataclass(frozen=True, kw_only=True)
class FindingRow:
    finding: Finding
    tone: str  # badge class suffix: "error" or "warn"
    url: str
    link_text: str


@dataclass(frozen=True, kw_only=True)
class FindingsPanel:
    rows: tuple[FindingRow, ...] = ()
    critical: int = 0
    warning: int = 0
    error: str = ""  # why the findings could not be checked, if they could not

    @property
    def healthy(self) -> bool:
        return not self.rows and not self.error


def link_of(finding: Finding) -> tuple[str, str]:
    """Where the finding's subject is shown, and the link's text."""
    if finding.queue is not None:
        url = reverse("dashboard:queue", args=[finding.queue])
        state = STATE_OF_RULE.get(finding.rule)
        if state:
            url += "?" + urlencode({"state": state})
        return url, f"Queue {finding.queue}"
    return reverse("dashboard:schedulers"), "Schedulers"


def panel(findings: Sequence[Finding]) -> FindingsPanel:
    rows = []
    for f in findings:
        url, text = link_of(f)
        tone = "error" if f.severity is Severity.CRITICAL else "warn"
        rows.append(FindingRow(finding=f, tone=tone, url=url, link_text=text))
    return FindingsPanel(
        rows=tuple(rows),
        critical=sum(1 for f in findings if f.severity is Severity.CRITICAL),
        warning=sum(1 for f in findings if f.severity is Severity.WARNING),
    )


def unavailable(reason: str) -> FindingsPanel:
    return FindingsPanel(error=reason)
