"""The worker server (no Django): processor, background duties, and the Server composing them."""

from queuecore.server.config import ServerConfig
from queuecore.server.server import Server

__all__ = ["Server", "ServerConfig"]
