"""The Django glue, in one marked place: settings, commands, the django.tasks backend, checks.

This is the only part of queuecore that imports Django.
"""
