"""Model strings are parsed in one place, with clear errors for bad ones."""

from __future__ import annotations

from typing import Any

import pytest

from locus.errors import MissingDependencyError, UnknownModelError
from locus.models import MockModel, infer_model, registry


def test_mock_strings_build_mock_models() -> None:
    default = infer_model("mock")
    named = infer_model("mock:triage", chunk_words=1)

    assert isinstance(default, MockModel)
    assert default.name == "mock:default"
    assert isinstance(named, MockModel)
    assert named.name == "mock:triage"


def test_a_model_instance_is_returned_as_it_is() -> None:
    model = MockModel()

    assert infer_model(model) is model


def test_unknown_prefix_is_named_with_a_suggestion() -> None:
    with pytest.raises(UnknownModelError) as caught:
        infer_model("opneai:gpt-4.1")

    message = str(caught.value)
    assert "unknown model provider 'opneai' in 'opneai:gpt-4.1'" in message
    assert "Did you mean 'openai:'?" in message


@pytest.mark.parametrize("bad", ["", "   ", None, 7])
def test_empty_or_non_string_model_is_refused(bad: Any) -> None:
    with pytest.raises(UnknownModelError, match="model must be a Model or a 'provider:model'"):
        infer_model(bad)


def test_provider_without_a_model_id_is_refused() -> None:
    with pytest.raises(UnknownModelError, match="names no model: write it as 'openai:<model-id>'"):
        infer_model("openai")


def test_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    class MissingSdk:
        name = "oci"
        value = "locus_providers.oci:create_model"

        def load(self) -> Any:
            # What the import system raises: the missing module's name is set.
            raise ModuleNotFoundError("No module named 'oci'", name="oci")

    monkeypatch.setattr(registry, "_provider_entry_points", lambda: {"oci": MissingSdk()})

    with pytest.raises(MissingDependencyError) as caught:
        infer_model("oci:cohere.command-r-plus")

    assert "pip install 'locus[oci]'" in str(caught.value)
    assert isinstance(caught.value, ImportError)
