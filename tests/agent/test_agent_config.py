"""Building agents: both constructor forms, validation of every setting, immutability."""

from __future__ import annotations

from typing import Any

import pytest

from locus.agent import Agent, AgentConfig
from locus.errors import (
    ConfigurationError,
    MissingDependencyError,
    ToolDefinitionError,
    UnknownModelError,
)
from locus.models.mock import MockModel
from locus.tools import Tool, tool


def lookup(order_id: int) -> str:
    """Look an order up."""
    return str(order_id)


def test_config_form_keeps_every_field() -> None:
    model = MockModel()
    config = AgentConfig(
        agent_id="agent-triage",
        model=model,
        system_prompt="Classify.",
        max_iterations=2,
        max_tokens=300,
        temperature=0.2,
        tools=[lookup],
    )

    agent = Agent(config=config)

    assert agent.config is config
    assert agent.model is model
    assert agent.agent_id == "agent-triage"
    assert agent.model_settings.max_tokens == 300
    assert agent.model_settings.temperature == 0.2
    assert [spec.name for spec in agent.tool_specs] == ["lookup"]
    assert isinstance(agent.tools_by_name["lookup"], Tool)


def test_shorthand_form_builds_the_model_from_its_string() -> None:
    agent = Agent(model="mock:helper", system_prompt="Hi.", tools=[lookup])

    assert isinstance(agent.model, MockModel)
    assert agent.model.name == "mock:helper"
    assert agent.config.system_prompt == "Hi."
    assert agent.config.agent_id == "agent"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"max_iterations": 0}, "max_iterations: Input should be greater than or equal to 1"),
        ({"max_iterations": "3"}, "max_iterations: Input should be a valid integer"),
        ({"max_tokens": 0}, "max_tokens: Input should be greater than or equal to 1"),
        ({"temperature": 2.5}, "temperature: Input should be less than or equal to 2"),
        ({"timeout": 0}, "timeout: Input should be greater than 0"),
        ({"agent_id": ""}, "agent_id: String should have at least 1 character"),
        ({"model": ""}, "model: Value error, a model string cannot be empty"),
        ({"model": 3}, "model"),
        ({"max_iteration": 3}, "max_iteration: Extra inputs are not permitted"),
        ({"tools": lookup}, "tools: Value error, tools must be a list"),
    ],
)
def test_bad_config_values_name_the_agent_and_the_field(
    settings: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {"agent_id": "agent-x", "model": "mock", **settings}

    with pytest.raises(ConfigurationError) as caught:
        AgentConfig(**values)

    message = str(caught.value)
    assert message.startswith(f"invalid AgentConfig for agent {values['agent_id']!r}: ")
    assert field in message


def test_missing_model_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="model: Field required"):
        AgentConfig(agent_id="a")


def test_duplicate_tool_names_are_rejected() -> None:
    def find(order_id: int) -> int:
        return order_id

    other = tool(name="lookup")(find)

    with pytest.raises(ToolDefinitionError, match="agent 'dup' has two tools named 'lookup'"):
        AgentConfig(agent_id="dup", model="mock", tools=[lookup, other])


def test_function_that_cannot_be_a_tool_is_rejected_at_config_time() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ToolDefinitionError, match="parameter 'x' has no type annotation"):
        Agent(model="mock", tools=[untyped])


def test_unknown_model_prefix_fails_when_the_agent_is_built() -> None:
    with pytest.raises(
        UnknownModelError, match=r"unknown model provider 'mokc'.*Did you mean 'mock:'"
    ):
        Agent(model="mokc:small")


def test_provider_without_its_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from locus.models import registry

    class BrokenEntryPoint:
        name = "openai"
        value = "locus_providers.openai:create_model"

        def load(self) -> Any:
            raise ModuleNotFoundError("No module named 'openai'", name="openai")

    monkeypatch.setattr(registry, "_provider_entry_points", lambda: {"openai": BrokenEntryPoint()})

    with pytest.raises(MissingDependencyError, match=r"pip install 'locus\[openai\]'"):
        Agent(model="openai:gpt-4.1")


def test_config_and_keywords_together_are_refused() -> None:
    config = AgentConfig(agent_id="a", model="mock")

    with pytest.raises(ConfigurationError, match="pass either config= or settings as keywords"):
        Agent(config=config, system_prompt="x")


def test_config_must_be_an_agent_config() -> None:
    with pytest.raises(ConfigurationError, match="needs an AgentConfig, got dict"):
        Agent(config={"model": "mock"})  # type: ignore[arg-type]


def test_agent_and_config_are_immutable() -> None:
    agent = Agent(agent_id="fixed", model="mock")

    with pytest.raises(AttributeError, match="Agent 'fixed' is immutable"):
        agent.model = MockModel()  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        agent.config.max_iterations = 5  # type: ignore[misc]


def test_replace_derives_a_new_agent_and_keeps_the_model_instance() -> None:
    agent = Agent(agent_id="base", model="mock", max_iterations=3)

    changed = agent.replace(max_iterations=7, system_prompt="New.")

    assert changed is not agent
    assert changed.config.max_iterations == 7
    assert changed.config.system_prompt == "New."
    assert changed.model is agent.model
    assert agent.config.max_iterations == 3
    with pytest.raises(ConfigurationError, match="max_iterations"):
        agent.replace(max_iterations=0)
