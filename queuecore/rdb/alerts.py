"""The alert loop's Redis state: open alerts per channel, the delivery log, the last evaluation.

Layout (ours alone, under ``queuecore:``; Go asynq never reads it):

* ``queuecore:alerts:state:<channel>`` HASH finding key -> alert state JSON; changed only by
  ``alert_transition.lua``, a compare-and-set, so that of several alert loops deciding the same
  transition exactly one wins and sends the message;
* ``queuecore:alerts:deliveries`` LIST of delivery records (JSON), newest first, capped;
* ``queuecore:alerts:last_run`` STRING, what the latest evaluation saw (JSON), with a TTL.

Values are text the caller encodes; this module only stores and returns them.
"""

from __future__ import annotations

from queuecore import keys
from queuecore.rdb.base import RedisStore, redis_errors

# Delivery records kept for the dashboard's Alerts page.
MAX_DELIVERIES = 200


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class AlertStore(RedisStore):
    """Redis calls of the alert loops and of the dashboard's Alerts page."""

    def states(self, channel: str) -> dict[str, str]:
        """Every finding key of ``channel`` with its stored state text."""
        with redis_errors():
            raw = self.client.hgetall(keys.alert_state_key(channel))
        return {_text(k): _text(v) for k, v in raw.items()}

    def transition(self, channel: str, finding_key: str, *, expected: str, new: str) -> bool:
        """Replace the state ``expected`` (``""``: none) by ``new`` (``""``: delete), atomically.

        False when the stored state is no longer ``expected`` (another loop got there first).
        """
        changed = self.run(
            "alert_transition", [keys.alert_state_key(channel)], [finding_key, expected, new]
        )
        return bool(changed)

    def record_delivery(self, record: str, *, keep: int = MAX_DELIVERIES) -> None:
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(keys.ALERT_DELIVERIES, record)
            pipe.ltrim(keys.ALERT_DELIVERIES, 0, max(0, keep - 1))
            pipe.execute()

    def deliveries(self, limit: int = 50) -> list[str]:
        """The newest ``limit`` delivery records, newest first."""
        with redis_errors():
            raw = self.client.lrange(keys.ALERT_DELIVERIES, 0, max(0, limit - 1))
        return [_text(item) for item in raw]

    def record_run(self, summary: str, *, ttl_seconds: int) -> None:
        with redis_errors():
            self.client.set(keys.ALERT_LAST_RUN, summary, ex=max(1, int(ttl_seconds)))

    def last_run(self) -> str | None:
        with redis_errors():
            raw = self.client.get(keys.ALERT_LAST_RUN)
        return None if raw is None else _text(raw)
