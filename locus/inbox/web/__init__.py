"""The inbox web app (``pip install 'locus[web]'``): ``create_app(checkpointer, auth=...)``.

Pages are rendered on the server (Jinja2) and work without JavaScript; the JSON API lives
under ``/api`` and is documented at ``/openapi.json``. Authentication is never off by
default: pass ``TokenAuth.from_file(path)``, or ``InsecureNoAuth.as_actor()`` for a demo.
"""

from __future__ import annotations

from locus.inbox.web import _requires  # noqa: F401  (first: names a missing extra)
from locus.inbox.web.app import create_app
from locus.inbox.web.auth import InsecureNoAuth, TokenAuth, WebAuth

__all__ = ["InsecureNoAuth", "TokenAuth", "WebAuth", "create_app"]
