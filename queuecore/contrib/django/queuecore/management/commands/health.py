"""``manage.py health`` — the dashboard's health findings, for cron jobs and probes.

Prints every finding (``--json`` for machines) and exits with:

* 0 when no finding is at or above ``--fail-on`` (default ``critical``);
* 1 when one is;
* 2 when the check could not be made (Redis unreachable, invalid ``QUEUECORE["HEALTH"]``).

Thresholds come from ``QUEUECORE["HEALTH"]`` (see ``queuecore.health.HealthThresholds``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django import instances
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import QueueCoreError
from queuecore.health import Finding, HealthThresholds, Severity, collect, worst
from queuecore.inspector import Inspector

EXIT_FINDINGS = 1
EXIT_UNCHECKED = 2


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "queue": finding.queue,
        "entry_id": finding.entry_id,
        "scheduler_id": finding.scheduler_id,
        "subject": finding.subject,
        "message": finding.message,
        "action": finding.action,
    }


class Command(BaseCommand):
    help = (
        "Report health findings (latency, queues without consumers, paused backlogs, error "
        "rate, archive cap, orphaned tasks, stalled cron entries). Exit 1 when a finding is at "
        "or above --fail-on, 2 when the check could not be made."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--redis-url", default=None, help="Redis URL (default: QUEUECORE['REDIS_URL'])"
        )
        instances.add_instance_argument(parser)
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument(
            "--fail-on",
            choices=[s.value for s in Severity],
            default=Severity.CRITICAL.value,
            help="exit 1 when a finding of this severity or worse exists (default: critical)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            thresholds = HealthThresholds.from_mapping(queuecore_setting("HEALTH"))
        except (QueueCoreError, TypeError) as exc:
            raise CommandError(
                f'QUEUECORE["HEALTH"] is invalid: {exc}', returncode=EXIT_UNCHECKED
            ) from exc
        try:
            url = instances.command_url(options["redis_url"], options["instance"])
            with Inspector.from_url(url) as inspector:
                findings = collect(inspector, thresholds, SYSTEM_CLOCK)
        except QueueCoreError as exc:
            raise CommandError(
                f"health could not be checked: {exc}", returncode=EXIT_UNCHECKED
            ) from exc
        level = Severity(options["fail_on"])
        status = worst(findings)
        if options["json"]:
            self._write_json(findings, status)
        else:
            self._write_text(findings)
        failing = [f for f in findings if f.severity.rank >= level.rank]
        if failing:
            raise CommandError(
                f"{len(failing)} finding(s) at or above {level.value}", returncode=EXIT_FINDINGS
            )

    def _write_json(self, findings: list[Finding], status: Severity | None) -> None:
        document = {
            "status": "ok" if status is None else status.value,
            "checked_at": datetime.fromtimestamp(SYSTEM_CLOCK.now(), UTC).isoformat(),
            "findings": [finding_json(f) for f in findings],
        }
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))

    def _write_text(self, findings: list[Finding]) -> None:
        if not findings:
            self.stdout.write("No findings.")
            return
        for f in findings:
            self.stdout.write(f"{f.severity.value.upper():<8}  {f.rule}  {f.subject}")
            self.stdout.write(f"          {f.message}")
            self.stdout.write(f"          Action: {f.action}")
