"""Live progress in the terminal: ``locus.console.render(graph.stream(...))``.

See ``locus.observe.console`` for what is shown.
"""

from __future__ import annotations

from locus.observe.console import render

__all__ = ["render"]
