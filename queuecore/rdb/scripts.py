"""Lua scripts: one ``.lua`` file per operation under ``rdb/lua/``, loaded once, called by SHA.

redis-py's ``Script`` sends EVALSHA and falls back to loading the script when Redis answers
NOSCRIPT (after a restart or SCRIPT FLUSH), so a forgotten script costs one extra round trip.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from redis.commands.core import Script

LUA_PACKAGE = "queuecore.rdb.lua"
REQUIRED_HEADER_WORDS = ("KEYS", "ARGV", "Returns")


@cache
def script_source(name: str) -> str:
    """The text of ``lua/<name>.lua``; it must open with a KEYS/ARGV/Returns header."""
    source = resources.files(LUA_PACKAGE).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    header = source.split("\n\n", 1)[0]
    missing = [word for word in REQUIRED_HEADER_WORDS if word not in header]
    if missing:
        raise RuntimeError(f"lua/{name}.lua header lacks {', '.join(missing)}")
    return source


def script_names() -> list[str]:
    return sorted(
        entry.name.removesuffix(".lua")
        for entry in resources.files(LUA_PACKAGE).iterdir()
        if entry.name.endswith(".lua")
    )


class ScriptRegistry:
    """The scripts of one client, registered on first use."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._scripts: dict[str, Script] = {}

    def get(self, name: str) -> Script:
        script = self._scripts.get(name)
        if script is None:
            script = self._client.register_script(script_source(name))
            self._scripts[name] = script
        return script

    def __call__(self, name: str, keys: list[str], args: list[Any], client: Any = None) -> Any:
        return self.get(name)(keys=keys, args=args, client=client)

    def queue(self, pipe: Any, name: str, keys: list[str], args: list[Any]) -> None:
        """Add an EVALSHA of ``name`` to ``pipe`` (a non-transactional pipeline).

        Unlike passing the pipeline to a redis-py ``Script``, this skips the SCRIPT EXISTS round
        trip redis-py makes before every pipeline execute, so a pipeline stays one round trip.
        The caller runs it with ``raise_on_error=False``; a NoScriptError reply means Redis forgot
        the script (restart, SCRIPT FLUSH): call :meth:`load` and send that command again.
        """
        pipe.evalsha(self.get(name).sha, len(keys), *keys, *args)

    def load(self, name: str) -> None:
        """SCRIPT LOAD ``name`` (on every primary, for a cluster client)."""
        script = self.get(name)
        script.sha = self._client.script_load(script.script)
