"""Go's textual forms of asynq enqueue options, durations and dates (spec §3.4).

A scheduler entry stores its enqueue options as the strings Go's ``Option.String()`` produces
(``MaxRetry(3)``, ``Queue("low")``, ``Timeout(30m0s)``, ``Deadline(Mon Jan  2 15:04:05 UTC 2006)``),
and Go's ``Inspector.SchedulerEntries()`` parses them back. This module writes those strings exactly
as Go does and reads strings written by Go, so that entries cross between the two languages:

* :func:`format_duration` / :func:`parse_duration` — Go's ``time.Duration.String`` and
  ``time.ParseDuration`` (``1h0m0s``, ``1.5s``, ``300ms``, ``2µs``, ``-1m``; fractions of any unit);
* :func:`format_unix_date` / :func:`parse_unix_date` — Go's ``time.UnixDate`` layout, in UTC;
* :func:`go_quote` / :func:`go_unquote` — Go's ``strconv.Quote`` / ``strconv.Unquote``;
* :func:`normalize_options` / :func:`format_options` — Client keywords (from settings or code) in
  canonical types, and as Go's option strings;
* :func:`parse_option` — one option string back into a :class:`ParsedOption` (what inspectors show).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from queuecore.errors import InvalidArgumentError

__all__ = [
    "OPTION_NAMES",
    "ParsedOption",
    "format_duration",
    "format_duration_ns",
    "format_options",
    "format_unix_date",
    "go_quote",
    "go_unquote",
    "normalize_options",
    "parse_duration",
    "parse_duration_ns",
    "parse_option",
    "parse_options",
    "parse_unix_date",
]

NANOSECOND = 1
MICROSECOND = 1_000
MILLISECOND = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
MAX_DURATION_NS = (1 << 63) - 1
# Go accumulates magnitudes as uint64 up to 1<<63 so that the most negative duration still parses.
_LIMIT = 1 << 63

# Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC) when parsing; it writes U+00B5.
_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,
    "μs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}


# --- durations --------------------------------------------------------------------------------


def _format_fraction(value: int, precision: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of value/10**precision without trailing zeros, and the rest."""
    digits = []
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    text = "." + "".join(reversed(digits)) if printed else ""
    return text, value


def format_duration_ns(ns: int) -> str:
    """Go's ``time.Duration.String()`` of nanoseconds (``1h0m0s``, ``1.5s``, ``2ms``, ``0s``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    magnitude = -ns if ns < 0 else ns
    if magnitude < SECOND:
        if magnitude < MICROSECOND:
            precision, unit = 0, "ns"
        elif magnitude < MILLISECOND:
            precision, unit = 3, "µs"
        else:
            precision, unit = 6, "ms"
        fraction, whole = _format_fraction(magnitude, precision)
        return f"{sign}{whole}{fraction}{unit}"
    fraction, seconds = _format_fraction(magnitude, 9)
    text = f"{seconds % 60}{fraction}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def format_duration(value: timedelta | float | int) -> str:
    """Go's duration text of a timedelta or a number of seconds."""
    return format_duration_ns(_to_ns(value))


def _to_ns(value: timedelta | float | int) -> int:
    if isinstance(value, timedelta):
        # Integer arithmetic: a float of total_seconds() loses nanosecond exactness on long spans.
        return (value.days * 86_400 + value.seconds) * SECOND + value.microseconds * MICROSECOND
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"expected a duration, got {value!r}")
    return round(value * SECOND)


def _invalid_duration(text: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"time: invalid duration {go_quote(text)}")


def parse_duration_ns(text: str) -> int:
    """Go's ``time.ParseDuration``: nanoseconds of ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+``."""
    original = text
    negative = False
    if text[:1] in ("-", "+"):
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise _invalid_duration(original)
    total = 0
    while text:
        # The next character must be [0-9.].
        if not (text[0] == "." or (text[0].isascii() and text[0].isdigit())):
            raise _invalid_duration(original)
        match = re.match(r"[0-9]*", text)
        assert match is not None
        whole_digits = match.group()
        text = text[len(whole_digits) :]
        if whole_digits and int(whole_digits) > _LIMIT:
            raise _invalid_duration(original)
        whole = int(whole_digits) if whole_digits else 0
        fraction, scale, had_fraction_digits, fraction_overflow = 0, 1.0, False, False
        if text.startswith("."):
            text = text[1:]
            match = re.match(r"[0-9]*", text)
            assert match is not None
            fraction_digits = match.group()
            text = text[len(fraction_digits) :]
            had_fraction_digits = bool(fraction_digits)
            for digit in fraction_digits:
                # Go's leadingFraction: digits past the int64 range are dropped, not an error.
                if fraction > MAX_DURATION_NS // 10 or fraction * 10 + int(digit) > _LIMIT:
                    fraction_overflow = True
                if fraction_overflow:
                    continue
                fraction = fraction * 10 + int(digit)
                scale *= 10
        if not whole_digits and not had_fraction_digits:
            raise _invalid_duration(original)  # "." or ".s"
        match = re.match(r"[^0-9.]*", text)
        assert match is not None
        unit_text = match.group()
        text = text[len(unit_text) :]
        if not unit_text:
            raise InvalidArgumentError(f"time: missing unit in duration {go_quote(original)}")
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise InvalidArgumentError(
                f"time: unknown unit {go_quote(unit_text)} in duration {go_quote(original)}"
            )
        if whole > _LIMIT // unit:
            raise _invalid_duration(original)
        value = whole * unit
        if fraction:
            # Go computes the fraction in float64 ("nanosecond accurate for fractions of hours").
            value += int(float(fraction) * (float(unit) / scale))
            if value > _LIMIT:
                raise _invalid_duration(original)
        total += value
        if total > _LIMIT:
            raise _invalid_duration(original)
    if not negative and total > MAX_DURATION_NS:
        raise _invalid_duration(original)
    return -total if negative else total


def parse_duration(text: str) -> timedelta:
    """Go's ``time.ParseDuration`` as a timedelta (sub-microsecond parts are truncated)."""
    ns = parse_duration_ns(text)
    sign = -1 if ns < 0 else 1
    return sign * timedelta(microseconds=abs(ns) // MICROSECOND)


# --- dates ------------------------------------------------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNIX_DATE = re.compile(
    r"(?P<wd>[A-Z][a-z]{2}) (?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) "
    r"(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.(?P<frac>\d+))? (?P<zone>[A-Za-z0-9+-]+) "
    r"(?P<year>\d{4})"
)


def format_unix_date(when: datetime) -> str:
    """Go's ``time.UnixDate`` layout (``Mon Jan _2 15:04:05 MST 2006``), always written in UTC.

    Naive datetimes are taken as UTC. Names are English whatever the process locale is.
    """
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (
        f"{_WEEKDAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day:>2} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} UTC {utc.year:04d}"
    )


def parse_unix_date(text: str) -> datetime:
    """Go's ``time.Parse(time.UnixDate, text)``; an aware UTC datetime.

    Like Go on a machine whose local zone does not know the abbreviation, every zone
    abbreviation other than a numeric ``+hhmm`` form is read as offset 0.
    """
    match = _UNIX_DATE.fullmatch(text.strip())
    if match is None or match["mon"] not in _MONTHS or match["wd"] not in _WEEKDAYS:
        raise InvalidArgumentError(f"cannot parse {go_quote(text)} as a Go UnixDate")
    try:
        parsed = datetime(
            int(match["year"]),
            _MONTHS.index(match["mon"]) + 1,
            int(match["day"]),
            int(match["h"]),
            int(match["m"]),
            int(match["s"]),
            int((match["frac"] or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise InvalidArgumentError(f"cannot parse {go_quote(text)} as a Go UnixDate") from exc
    zone = match["zone"]
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", zone)
    if offset:
        minutes = int(offset[2]) * 60 + int(offset[3])
        parsed -= timedelta(minutes=minutes if offset[1] == "+" else -minutes)
    return parsed


# --- Go string literals -----------------------------------------------------------------------

_NAMED_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (the ``%q`` verb): printable characters kept, the rest escaped."""
    out = ['"']
    for char in text:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x20 or code == 0x7F:
                out.append(f"\\x{code:02x}")
            elif 0xDC80 <= code <= 0xDCFF:
                # A byte of invalid UTF-8 decoded with surrogateescape; Go escapes the raw byte.
                out.append(f"\\x{code - 0xDC00:02x}")
            elif 0xD800 <= code <= 0xDFFF:
                out.append("\\ufffd")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_SIMPLE_UNESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}


def go_unquote(literal: str) -> str:
    """Go's ``strconv.Unquote`` for double-quoted and back-quoted string literals."""
    if len(literal) >= 2 and literal[0] == literal[-1] == "`":
        body = literal[1:-1]
        if "`" in body:
            raise InvalidArgumentError(f"invalid Go string literal {literal!r}")
        return body.replace("\r", "")
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise InvalidArgumentError(f"invalid Go string literal {literal!r}")
    body = literal[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"' or char == "\n":
            raise InvalidArgumentError(f"invalid Go string literal {literal!r}")
        if char != "\\":
            out += char.encode("utf-8", "surrogatepass")
            i += 1
            continue
        escape = body[i + 1 : i + 2]
        if escape in _SIMPLE_UNESCAPES:
            out += _SIMPLE_UNESCAPES[escape].encode()
            i += 2
        elif escape == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2 : i + 4]):
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif escape in ("u", "U"):
            width = 4 if escape == "u" else 8
            digits = body[i + 2 : i + 2 + width]
            if not re.fullmatch(rf"[0-9a-fA-F]{{{width}}}", digits) or int(digits, 16) > 0x10FFFF:
                raise InvalidArgumentError(f"invalid Go string literal {literal!r}")
            out += chr(int(digits, 16)).encode("utf-8", "surrogatepass")
            i += 2 + width
        elif re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]) and int(body[i + 1 : i + 4], 8) < 256:
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            raise InvalidArgumentError(f"invalid Go string literal {literal!r}")
    return out.decode("utf-8", "replace")


def _go_json(value: Any) -> str:
    """Go's ``json.Marshal`` text: compact, non-ASCII kept, HTML-sensitive characters escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


# --- enqueue options --------------------------------------------------------------------------

OPTION_NAMES = (
    "queue",
    "max_retry",
    "timeout",
    "deadline",
    "unique",
    "process_at",
    "process_in",
    "retention",
    "task_id",
    "group",
    "headers",
)
"""The Client's option keywords, in the order :func:`format_options` writes them."""


def _duration_setting(name: str, value: Any) -> timedelta:
    """A duration from settings or code: a timedelta, a number of seconds, or Go duration text."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        result = parse_duration(value.strip())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            result = timedelta(seconds=value)
        except (OverflowError, ValueError):
            raise InvalidArgumentError(f"option {name!r} is out of range: {value!r}") from None
    else:
        raise InvalidArgumentError(
            f"option {name!r} must be a number of seconds, a timedelta or a Go duration "
            f"like '30m', got {value!r}"
        )
    if result < timedelta(0):
        raise InvalidArgumentError(f"option {name!r} must not be negative, got {value!r}")
    return result


def _moment_setting(name: str, value: Any) -> datetime:
    """A moment: an aware datetime (naive is UTC), Unix seconds, ISO 8601 or Go UnixDate text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidArgumentError(f"option {name!r} is not a Unix time: {value!r}") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return parse_unix_date(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise InvalidArgumentError(
        f"option {name!r} must be a datetime, Unix seconds or an ISO 8601 string, got {value!r}"
    )


def _text_setting(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"option {name!r} must be a non-blank string, got {value!r}")
    return value


def _headers_setting(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidArgumentError(f"option 'headers' must map strings to strings, got {value!r}")
    return dict(value)


def normalize_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Options as written in settings or code, as Client keywords in canonical types.

    Durations (``timeout``, ``unique``, ``process_in``, ``retention``) may be timedeltas, seconds
    or Go duration text (``"30m"``); moments (``deadline``, ``process_at``) aware datetimes, Unix
    seconds, ISO 8601 or Go UnixDate text. They come back as timedelta / aware UTC datetime.
    ``None`` values are dropped; an unknown name is an InvalidArgumentError.
    """
    if not options:
        return {}
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise InvalidArgumentError(
            f"unknown enqueue option(s) {', '.join(unknown)}; known: {', '.join(OPTION_NAMES)}"
        )
    values: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name in ("queue", "task_id", "group"):
            values[name] = _text_setting(name, value)
        elif name == "max_retry":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgumentError(f"option 'max_retry' must be an int, got {value!r}")
            values[name] = value
        elif name in ("timeout", "unique", "process_in", "retention"):
            values[name] = _duration_setting(name, value)
        elif name in ("deadline", "process_at"):
            values[name] = _moment_setting(name, value)
        else:
            values[name] = _headers_setting(value)
    return values


def format_options(options: Mapping[str, Any]) -> list[str]:
    """Client keywords as Go's ``Option.String()`` writes them, in :data:`OPTION_NAMES` order.

    Absent or ``None`` options are left out; headers give one ``Header(["k","v"])`` per pair,
    sorted by key (asynq HEAD's form). Go keeps the caller's order; a fixed order here makes the
    same options always give the same strings (and the same scheduler-entry identity).
    """
    values = normalize_options(options)
    out: list[str] = []
    for name in OPTION_NAMES:
        value = values.get(name)
        if value is None:
            continue
        if name == "queue":
            out.append(f"Queue({go_quote(value)})")
        elif name == "max_retry":
            out.append(f"MaxRetry({value})")
        elif name == "task_id":
            out.append(f"TaskID({go_quote(value)})")
        elif name == "group":
            out.append(f"Group({go_quote(value)})")
        elif name == "headers":
            out.extend(f"Header({_go_json([k, value[k]])})" for k in sorted(value))
        elif name in ("deadline", "process_at"):
            out.append(f"{_GO_NAMES[name]}({format_unix_date(value)})")
        else:
            out.append(f"{_GO_NAMES[name]}({format_duration(value)})")
    return out


# --- parsing option strings back --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParsedOption:
    """One option string read back: ``name`` is Go's option name, ``value`` a Python value.

    Values: Queue/TaskID/Group → str; MaxRetry → int; Timeout/Unique/ProcessIn/Retention →
    timedelta; Deadline/ProcessAt → aware UTC datetime; Header → (key, value) tuple.
    """

    name: str
    value: Any
    text: str

    @property
    def keyword(self) -> str:
        """The Client keyword of this option (``max_retry``, ``process_in``, ...)."""
        return _KEYWORDS[self.name]

    def display(self) -> str:
        """A short human form (``queue=low``, ``timeout=30m0s``) for dashboards."""
        if isinstance(self.value, timedelta):
            shown = format_duration(self.value)
        elif isinstance(self.value, datetime):
            shown = self.value.isoformat()
        elif isinstance(self.value, tuple):
            shown = f"{self.value[0]}: {self.value[1]}"
        else:
            shown = str(self.value)
        return f"{self.keyword}={shown}"


_GO_NAMES = {
    "timeout": "Timeout",
    "deadline": "Deadline",
    "unique": "Unique",
    "process_at": "ProcessAt",
    "process_in": "ProcessIn",
    "retention": "Retention",
}

_KEYWORDS = {
    "Queue": "queue",
    "MaxRetry": "max_retry",
    "Timeout": "timeout",
    "Deadline": "deadline",
    "Unique": "unique",
    "ProcessAt": "process_at",
    "ProcessIn": "process_in",
    "Retention": "retention",
    "TaskID": "task_id",
    "Group": "group",
    "Header": "header",
}


def parse_option(text: str) -> ParsedOption:
    """One Go option string back into a value; InvalidArgumentError when it cannot be read.

    Broader than Go's ``parseOption`` (which drops TaskID, Group and Header and cuts the argument
    at the first ``)``): every option Go can write is read, and the argument runs to the last ``)``.
    """
    open_at, close_at = text.find("("), text.rfind(")")
    if open_at <= 0 or close_at < open_at or text[close_at + 1 :].strip():
        raise InvalidArgumentError(f"cannot parse option string {go_quote(text)}")
    name, arg = text[:open_at].strip(), text[open_at + 1 : close_at]
    value: Any
    try:
        if name in ("Queue", "TaskID", "Group"):
            value = go_unquote(arg)
        elif name == "MaxRetry":
            if not re.fullmatch(r"[+-]?\d+", arg):
                raise InvalidArgumentError(f"not an integer: {arg!r}")
            value = int(arg)
        elif name in ("Timeout", "Unique", "ProcessIn", "Retention"):
            value = parse_duration(arg)
        elif name in ("Deadline", "ProcessAt"):
            value = parse_unix_date(arg)
        elif name == "Header":
            pair = json.loads(arg)
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise InvalidArgumentError(f"not a [key, value] pair: {arg!r}")
            value = (pair[0], pair[1])
        else:
            raise InvalidArgumentError(f"unknown option {name!r}")
    except (InvalidArgumentError, ValueError) as exc:
        raise InvalidArgumentError(f"cannot parse option string {go_quote(text)}: {exc}") from exc
    return ParsedOption(name=name, value=value, text=text)


def parse_options(texts: Iterable[str]) -> list[ParsedOption]:
    """Every readable option of a list; unreadable strings are skipped, as Go's Inspector does."""
    parsed = []
    for text in texts:
        try:
            parsed.append(parse_option(text))
        except InvalidArgumentError:
            continue
    return parsed
