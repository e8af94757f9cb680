"""Benchmarks, and a tiny Django app (``bench.tasks``) holding the peer benchmark's handler."""
