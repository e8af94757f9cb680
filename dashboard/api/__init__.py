"""Asynqmon's JSON API, served under ``api/`` (see views for the differences)."""
