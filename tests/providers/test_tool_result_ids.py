"""A tool result without the id of the call it answers is refused by every request format,
before anything is sent, with one message that says how to build it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from locus.core.messages import Message
from locus.errors import UserError
from locus.models.base import ModelRequest
from locus_providers.oci.cohere_v2 import build_cohere_v2_request
from locus_providers.oci.generic import build_generic_request
from locus_providers.openai.convert import to_openai_message

ORPHAN = Message(role="tool", content="refunded 150", name="issue_refund")


def openai(message: Message) -> Any:
    return to_openai_message(message)


def oci_generic(message: Message) -> Any:
    return build_generic_request(ModelRequest(messages=(message,)), stream=False)


def oci_cohere_v2(message: Message) -> Any:
    return build_cohere_v2_request(ModelRequest(messages=(message,)), stream=False)


@pytest.mark.parametrize("build", [openai, oci_generic, oci_cohere_v2])
def test_a_tool_result_without_its_call_id_is_refused_naming_the_tool(
    build: Callable[[Message], Any],
) -> None:
    with pytest.raises(UserError, match=r"name='issue_refund'.*Message\.tool\(tool_call_id"):
        build(ORPHAN)


@pytest.mark.parametrize("build", [oci_generic, oci_cohere_v2])
def test_a_tool_result_carries_the_id_of_the_call_it_answers(
    build: Callable[[Message], Any],
) -> None:
    request = build(Message.tool("call_7", "issue_refund", "refunded 150"))
    assert request.messages[0].tool_call_id == "call_7"
