"""The WSGI entry point for production servers: `gunicorn --workers 2 --bind 127.0.0.1:8000 'lms.wsgi:app'`.

Configuration comes from the LMS_* environment variables (see the README). Every worker builds its own
app, so set LMS_SECRET_KEY (or share one instance folder) so they all sign cookies alike.
"""

from __future__ import annotations

from lms import create_app

app = create_app()
