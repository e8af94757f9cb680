"""``queuecore-dashboard``: the dashboard as one command for a Redis URL, like Asynqmon's binary.

No Django project of the user's is involved: ``settings``, ``urls`` and ``wsgi`` here are the
project, ``cli`` checks the flags, Redis and the port, prepares the data directory (SQLite database
of users, audit log and recycle bin; the secret key), creates the first admin and hands over to
gunicorn.
"""
