"""Workers: runs and answered pauses carried out on many machines, exactly once.

``await graph.submit(inputs, thread_id=...)`` stores a run as ready; a ``Worker`` (or
``locus worker MODULE:GRAPH --store URL``) serving the graph claims it and runs it to its
first pause or end; ``await graph.result(thread_id)`` waits for that. Answers are
submitted the same way (``graph.submit(Command(resume=...), thread_id=...)``).
"""

from __future__ import annotations

from locus.workers.queue import WorkItem, WorkQueue, queue_for
from locus.workers.submit import result, submit
from locus.workers.worker import Worker

__all__ = ["WorkItem", "WorkQueue", "Worker", "queue_for", "result", "submit"]
