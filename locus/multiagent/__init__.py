"""Graphs of async nodes over a dict state, with human-in-the-loop pauses."""

from locus.multiagent.config import GraphConfig
from locus.multiagent.graph import StateGraph
from locus.multiagent.plan import END, START
from locus.multiagent.result import GraphResult
from locus.multiagent.send import Send

__all__ = ["END", "START", "GraphConfig", "GraphResult", "Send", "StateGraph"]
