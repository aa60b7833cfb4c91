"""``locus.models.from_env()``: which model the environment names, and what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from locus.errors import ConfigurationError
from locus.models import MockModel, from_env
from locus.models.env import DEFAULT_MODELS, model_string_from_env


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory without ~/.oci/config."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def oci_config(home: Path) -> Path:
    path = home / ".oci" / "config"
    path.parent.mkdir()
    path.write_text("[DEFAULT]\n")
    return path


def test_mock_provider_gives_the_mock(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCUS_MODEL_PROVIDER", "mock")
    monkeypatch.delenv("LOCUS_MODEL", raising=False)

    model = from_env()

    assert isinstance(model, MockModel)
    assert model.name == "mock:default"


def test_locus_model_names_the_model(home: Path) -> None:
    env = {"LOCUS_MODEL_PROVIDER": "openai", "LOCUS_MODEL": "gpt-4o", "OPENAI_API_KEY": "sk"}

    assert model_string_from_env(env) == "openai:gpt-4o"
    assert model_string_from_env({**env, "LOCUS_MODEL": "openai:gpt-4o"}) == "openai:gpt-4o"
    assert model_string_from_env({"LOCUS_MODEL_PROVIDER": "mock", "LOCUS_MODEL": "x"}) == "mock:x"


def test_each_provider_has_a_default_model(home: Path) -> None:
    oci_config(home)
    env = {"OPENAI_API_KEY": "sk", "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..x"}

    for provider in ("mock", "oci", "openai"):
        chosen = model_string_from_env({**env, "LOCUS_MODEL_PROVIDER": provider})
        assert chosen == f"{provider}:{DEFAULT_MODELS[provider]}"


def test_unset_provider_is_the_mock_without_an_oci_config(home: Path) -> None:
    assert model_string_from_env({}) == "mock:default"


def test_unset_provider_is_oci_when_an_oci_config_exists(home: Path) -> None:
    oci_config(home)

    chosen = model_string_from_env({"OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..x"})

    assert chosen == f"oci:{DEFAULT_MODELS['oci']}"


def test_provider_name_is_case_insensitive(home: Path) -> None:
    assert model_string_from_env({"LOCUS_MODEL_PROVIDER": " Mock "}) == "mock:default"


def test_unknown_provider_is_named(home: Path) -> None:
    with pytest.raises(
        ConfigurationError, match="LOCUS_MODEL_PROVIDER='azure' is not one of mock, oci, openai"
    ):
        model_string_from_env({"LOCUS_MODEL_PROVIDER": "azure"})


def test_openai_without_its_key_names_the_variable(home: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs the OPENAI_API_KEY environment variable"):
        model_string_from_env({"LOCUS_MODEL_PROVIDER": "openai", "OPENAI_API_KEY": " "})


def test_oci_without_a_config_file_names_the_path(home: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        model_string_from_env({"LOCUS_MODEL_PROVIDER": "oci", "OCI_COMPARTMENT_ID": "c"})

    assert f"{home / '.oci' / 'config'} (the default path) does not exist" in str(caught.value)


def test_oci_config_file_variable_is_honoured(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere.cfg"
    env = {
        "LOCUS_MODEL_PROVIDER": "oci",
        "OCI_CONFIG_FILE": str(missing),
        "OCI_COMPARTMENT_ID": "c",
    }

    with pytest.raises(
        ConfigurationError, match=r"elsewhere\.cfg \(OCI_CONFIG_FILE\) does not exist"
    ):
        model_string_from_env(env)

    missing.write_text("[DEFAULT]\n")
    assert model_string_from_env(env) == f"oci:{DEFAULT_MODELS['oci']}"


def test_oci_without_a_compartment_names_the_variable(home: Path) -> None:
    oci_config(home)

    with pytest.raises(
        ConfigurationError, match="needs the OCI_COMPARTMENT_ID environment variable"
    ):
        model_string_from_env({"LOCUS_MODEL_PROVIDER": "oci"})


def test_from_env_checks_credentials_before_building(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCUS_MODEL_PROVIDER", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        from_env()


def test_from_env_reads_a_given_mapping_and_passes_options(home: Path) -> None:
    model = from_env({"LOCUS_MODEL_PROVIDER": "mock", "LOCUS_MODEL": "refunds"}, chunk_words=1)

    assert isinstance(model, MockModel)
    assert model.name == "mock:refunds"


def test_a_misspelt_provider_gets_a_suggestion(home: Path) -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'openai'"):
        model_string_from_env({"LOCUS_MODEL_PROVIDER": "opnai"})


def test_locus_model_prefix_picks_the_provider_when_none_is_set(home: Path) -> None:
    chosen = model_string_from_env({"LOCUS_MODEL": "openai:gpt-4o", "OPENAI_API_KEY": "sk"})

    assert chosen == "openai:gpt-4o"


def test_locus_model_naming_another_provider_is_refused(home: Path) -> None:
    env = {"LOCUS_MODEL_PROVIDER": "mock", "LOCUS_MODEL": "openai:gpt-4o"}

    with pytest.raises(
        ConfigurationError, match="LOCUS_MODEL='openai:gpt-4o' names provider 'openai'"
    ):
        model_string_from_env(env)


def test_a_colon_inside_a_model_id_is_not_a_provider(home: Path) -> None:
    env = {"LOCUS_MODEL_PROVIDER": "openai", "LOCUS_MODEL": "llama3.1:8b", "OPENAI_API_KEY": "k"}

    assert model_string_from_env(env) == "openai:llama3.1:8b"
