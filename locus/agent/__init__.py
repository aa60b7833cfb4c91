"""Agents: a model with instructions and tools, run as a loop that streams typed events."""

from locus.agent.agent import Agent, AgentResult
from locus.agent.classify import Classification, classify
from locus.agent.config import AgentConfig
from locus.agent.pause import AgentRunState, PendingApproval

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentResult",
    "AgentRunState",
    "Classification",
    "PendingApproval",
    "classify",
]
