"""How OCIModel finds its credentials, compartment and endpoint, and what it says when
one is missing or wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from locus.core.messages import Message
from locus.errors import ConfigurationError
from locus.models.base import ModelRequest
from locus_providers.oci import OCIModel

pytestmark = pytest.mark.usefixtures("clean_oci_environment")

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaenvcompartment"
MODEL = "meta.llama-3.3-70b-instruct"


def generic_result(text: str) -> dict[str, Any]:
    return {
        "modelId": MODEL,
        "modelVersion": "1",
        "chatResponse": {
            "apiFormat": "GENERIC",
            "timeCreated": "2026-01-01T00:00:00.000Z",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": text}]},
                    "finishReason": "stop",
                }
            ],
        },
    }


def write_profile(path: Path, profile: str, **entries: str) -> Path:
    lines = [f"[{profile}]", *(f"{key}={value}" for key, value in entries.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_environment_supplies_file_profile_compartment_and_endpoint(
    monkeypatch: pytest.MonkeyPatch,
    genai_service: Any,
    oci_files: Any,
    verify_signature: Any,
) -> None:
    monkeypatch.setenv("OCI_CONFIG_FILE", str(oci_files.config_file))
    monkeypatch.setenv("OCI_CONFIG_PROFILE", "SESSION")
    monkeypatch.setenv("OCI_COMPARTMENT_ID", COMPARTMENT)
    monkeypatch.setenv("OCI_GENAI_ENDPOINT", genai_service.endpoint)
    genai_service.reply_json(generic_result("from the environment"))

    model = OCIModel(MODEL)
    response = await model.request(ModelRequest(messages=(Message.user("Hi"),)))

    assert response.message.content == "from the environment"
    sent = genai_service.requests[0]
    assert sent.json()["compartmentId"] == COMPARTMENT
    assert verify_signature(sent, oci_files.public_key)["keyId"] == f"ST${oci_files.token}"


def test_region_comes_from_the_profile_unless_overridden(
    monkeypatch: pytest.MonkeyPatch, oci_files: Any
) -> None:
    config_file = str(oci_files.config_file)
    from_profile = OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=config_file)
    from_argument = OCIModel(
        MODEL, compartment_id=COMPARTMENT, config_file=config_file, region="eu-frankfurt-1"
    )
    monkeypatch.setenv("OCI_REGION", "ap-osaka-1")
    from_environment = OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=config_file)

    assert from_profile.region == "us-chicago-1"
    assert from_profile.endpoint is None  # the SDK derives the regional endpoint
    assert from_argument.region == "eu-frankfurt-1"
    assert from_environment.region == "ap-osaka-1"


def test_missing_compartment_names_the_variable(oci_files: Any) -> None:
    with pytest.raises(ConfigurationError, match="OCI_COMPARTMENT_ID"):
        OCIModel(MODEL, config_file=str(oci_files.config_file))


def test_missing_config_file_names_the_path_and_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    with pytest.raises(ConfigurationError) as raised:
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(missing))
    assert str(missing) in str(raised.value)
    assert "OCI_CONFIG_FILE" in str(raised.value)


def test_missing_profile_names_the_profile_and_variable(oci_files: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        OCIModel(
            MODEL,
            compartment_id=COMPARTMENT,
            config_file=str(oci_files.config_file),
            profile="PROD",
        )
    assert "'PROD'" in str(raised.value)
    assert "OCI_CONFIG_PROFILE" in str(raised.value)


def test_profile_missing_a_field_names_the_field(tmp_path: Path, oci_files: Any) -> None:
    config = write_profile(
        tmp_path / "config",
        "DEFAULT",
        user=oci_files.user,
        tenancy=oci_files.tenancy,
        region="us-chicago-1",
        key_file=str(oci_files.key_file),
    )
    with pytest.raises(ConfigurationError, match="fingerprint missing"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(config))


def test_missing_key_file_is_named(tmp_path: Path, oci_files: Any) -> None:
    config = write_profile(
        tmp_path / "config",
        "DEFAULT",
        user=oci_files.user,
        fingerprint=oci_files.fingerprint,
        tenancy=oci_files.tenancy,
        region="us-chicago-1",
        key_file=str(tmp_path / "gone.pem"),
    )
    with pytest.raises(ConfigurationError, match=r"gone\.pem"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(config))


def test_wrong_pass_phrase_is_reported_without_revealing_it(
    tmp_path: Path, oci_files: Any, rsa_private_key: Any
) -> None:
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        rsa_private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right-phrase"),
        )
    )
    config = write_profile(
        tmp_path / "config",
        "DEFAULT",
        user=oci_files.user,
        fingerprint=oci_files.fingerprint,
        tenancy=oci_files.tenancy,
        region="us-chicago-1",
        key_file=str(encrypted),
        pass_phrase="wrong-phrase-zz9",
    )
    with pytest.raises(ConfigurationError) as raised:
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(config))
    assert "encrypted.pem" in str(raised.value)
    assert "wrong-phrase-zz9" not in str(raised.value)


def test_encrypted_key_without_pass_phrase_says_so(
    tmp_path: Path, oci_files: Any, rsa_private_key: Any
) -> None:
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        rsa_private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right-phrase"),
        )
    )
    config = write_profile(
        tmp_path / "config",
        "DEFAULT",
        user=oci_files.user,
        fingerprint=oci_files.fingerprint,
        tenancy=oci_files.tenancy,
        region="us-chicago-1",
        key_file=str(encrypted),
    )
    with pytest.raises(ConfigurationError, match="pass_phrase"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(config))


def test_session_profile_with_unreadable_token_file_names_it(
    tmp_path: Path, oci_files: Any
) -> None:
    config = write_profile(
        tmp_path / "config",
        "DEFAULT",
        fingerprint=oci_files.fingerprint,
        tenancy=oci_files.tenancy,
        region="us-chicago-1",
        key_file=str(oci_files.key_file),
        security_token_file=str(tmp_path / "expired-token"),
    )
    with pytest.raises(ConfigurationError, match="expired-token"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(config))


def test_security_token_auth_needs_a_token_file(oci_files: Any) -> None:
    with pytest.raises(ConfigurationError, match="security_token_file"):
        OCIModel(
            MODEL,
            compartment_id=COMPARTMENT,
            config_file=str(oci_files.config_file),
            auth="security_token",
        )


def test_unknown_auth_type_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, oci_files: Any
) -> None:
    monkeypatch.setenv("OCI_AUTH", "password")
    with pytest.raises(ConfigurationError, match="OCI_AUTH='password'"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(oci_files.config_file))


def test_bad_endpoint_names_the_variable(monkeypatch: pytest.MonkeyPatch, oci_files: Any) -> None:
    monkeypatch.setenv("OCI_GENAI_ENDPOINT", "inference.example.com")
    with pytest.raises(ConfigurationError, match="OCI_GENAI_ENDPOINT"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, config_file=str(oci_files.config_file))


@pytest.mark.parametrize(
    ("options", "named"),
    [({"api_format": "anthropic"}, "api_format"), ({"timeout": -1.0}, "timeout")],
)
def test_bad_options_are_named(oci_files: Any, options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        OCIModel(
            MODEL,
            compartment_id=COMPARTMENT,
            config_file=str(oci_files.config_file),
            **options,
        )


@pytest.mark.parametrize(
    ("model_id", "api_format", "expected"),
    [
        ("meta.llama-3.3-70b-instruct", None, "generic"),
        ("openai.gpt-4.1", None, "generic"),
        ("xai.grok-3", None, "generic"),
        ("cohere.command-r-plus", None, "cohere"),
        ("cohere.command-a-03-2025", None, "cohere"),
        ("ocid1.generativeaiendpoint.oc1.x.y", "cohere", "cohere"),
    ],
)
def test_format_is_chosen_by_model_id(
    oci_files: Any, model_id: str, api_format: str | None, expected: str
) -> None:
    model = OCIModel(
        model_id,
        compartment_id=COMPARTMENT,
        config_file=str(oci_files.config_file),
        api_format=api_format,
    )
    assert model.format.name == expected
    assert model.name == f"oci:{model_id}"


def test_resource_principal_outside_oci_says_where_it_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)
    with pytest.raises(ConfigurationError, match="resource_principal authentication failed"):
        OCIModel(MODEL, compartment_id=COMPARTMENT, auth="resource_principal")
