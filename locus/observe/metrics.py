"""The instruments locus records to, created once per OpenTelemetry meter provider.

Every instrument is labelled with ``locus.graph`` (and ``locus.node`` where a node is
involved); token and model-call instruments follow the GenAI semantic conventions.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Instruments"]

#: seconds, from a node's microseconds up to a slow model call
_DURATION_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
#: seconds a human takes: a minute, an hour, a day, a week
_WAIT_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)


class Instruments:
    """Counters and histograms of graph runs, nodes, human waits and model calls."""

    __slots__ = (
        "interrupt_wait",
        "model_duration",
        "node_duration",
        "resume_delay",
        "runs_failed",
        "runs_finished",
        "runs_paused",
        "runs_resumed",
        "runs_started",
        "step_duration",
        "token_usage",
    )

    def __init__(self, meter: Any) -> None:
        counter = meter.create_counter
        histogram = meter.create_histogram
        self.runs_started = counter("locus.runs.started", "{run}", "graph runs started")
        self.runs_resumed = counter(
            "locus.runs.resumed", "{run}", "executions resuming or continuing a stored run"
        )
        self.runs_paused = counter("locus.runs.paused", "{run}", "executions that paused")
        self.runs_finished = counter("locus.runs.finished", "{run}", "runs that reached END")
        self.runs_failed = counter("locus.runs.failed", "{run}", "executions that raised")
        self.step_duration = histogram(
            "locus.step.duration",
            "s",
            "wall time of one graph step",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.node_duration = histogram(
            "locus.node.duration",
            "s",
            "wall time of one node run",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.interrupt_wait = histogram(
            "locus.interrupt.wait",
            "s",
            "seconds from a pause to its answer",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )
        self.resume_delay = histogram(
            "locus.interrupt.resume_delay",
            "s",
            "seconds from an answer to the start of the node it resumes",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.token_usage = histogram(
            "gen_ai.client.token.usage",
            "{token}",
            "tokens per model call, by gen_ai.token.type",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.model_duration = histogram(
            "gen_ai.client.operation.duration",
            "s",
            "wall time of one model call",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
