"""``Send``: fan a node out over items, one branch per item (map), from a router.

A conditional edge's router may return a list of ``Send(node, payload)``. Each becomes a
branch of the next step named ``node[i]`` (``i`` counts the sends to that node in the
step), which runs ``node`` with ``payload`` as its state. The branches run concurrently,
their updates merge in item order (so a reducer key gathers the results in order), and an
interrupt in one branch pauses only that branch: its pending item's path carries the index,
such as ``review[3]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Send", "branch_index", "branch_key", "branch_node"]


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` once more in the next step, with ``payload`` as its state.

    Attributes:
        node: the node to run.
        payload: the branch's state: a dict (stored with a pause, so storable values).
    """

    node: str
    payload: Mapping[str, Any]


def branch_key(node: str, index: int) -> str:
    """The frontier name of the ``index``-th branch of ``node``: ``review[3]``."""
    return f"{node}[{index}]"


def branch_node(key: str) -> str:
    """The node a frontier name runs: ``review`` for ``review[3]``, else the name itself."""
    cut = key.find("[")
    return key if cut < 0 else key[:cut]


def branch_index(key: str) -> int:
    """The branch index of a frontier name, -1 for a plain node."""
    cut = key.find("[")
    return -1 if cut < 0 else int(key[cut + 1 : -1])
