"""Model strings reach the provider adapters, which import their SDK only when used."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from locus.models import infer_model
from locus_providers.oci import OCIModel
from locus_providers.openai import OpenAIModel

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def test_openai_string_resolves_to_openai_model() -> None:
    model = infer_model("openai:gpt-4.1", api_key="sk-test-registry", base_url="http://h/v1")
    assert isinstance(model, OpenAIModel)
    assert model.name == "openai:gpt-4.1"
    assert model.base_url == "http://h/v1"


@pytest.mark.parametrize(
    ("model_string", "api_format"),
    [
        ("oci:meta.llama-3.3-70b-instruct", "generic"),
        ("oci:openai.gpt-4.1", "generic"),
        ("oci:cohere.command-r-plus", "cohere"),
    ],
)
def test_oci_strings_resolve_to_oci_model_in_the_right_format(
    monkeypatch: pytest.MonkeyPatch, oci_files: Any, model_string: str, api_format: str
) -> None:
    monkeypatch.delenv("OCI_AUTH", raising=False)
    monkeypatch.delenv("OCI_REGION", raising=False)
    model = infer_model(
        model_string,
        compartment_id="ocid1.compartment.oc1..aaaaaaaatest",
        config_file=str(oci_files.config_file),
    )
    assert isinstance(model, OCIModel)
    assert model.name == model_string
    assert model.format.name == api_format


def test_importing_locus_imports_no_provider_sdk() -> None:
    result = run_python(
        """
        import sys
        import locus, locus.errors, locus.models, locus.models.retry
        roots = ("openai", "oci", "locus_providers")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in roots)
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("sdk", ["openai", "oci"])
def test_missing_sdk_names_the_extra_to_install(sdk: str) -> None:
    model_string = "openai:gpt-4.1" if sdk == "openai" else "oci:meta.llama-3.3-70b-instruct"
    result = run_python(
        f"""
        import sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name == {sdk!r} or name.startswith({sdk!r} + "."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NotInstalled())
        from locus.errors import MissingDependencyError
        from locus.models import infer_model
        try:
            infer_model({model_string!r})
        except MissingDependencyError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert f"pip install 'locus[{sdk}]'" in result.stdout


@pytest.mark.parametrize(
    ("blocked", "named"),
    [
        # A module of the adapter itself is missing: a broken install, not a missing SDK.
        ("locus_providers.openai.model", "locus_providers.openai.model"),
        # The SDK is there but a package it needs is not.
        ("httpx2", "httpx2"),
    ],
)
def test_an_adapter_that_fails_to_import_is_not_called_a_missing_sdk(
    blocked: str, named: str
) -> None:
    result = run_python(
        f"""
        import sys

        class Broken:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Broken())
        from locus.errors import ConfigurationError, MissingDependencyError
        from locus.models import infer_model
        try:
            infer_model("openai:gpt-4.1", api_key="sk-test-registry")
        except MissingDependencyError as exc:
            print("MissingDependencyError", exc)
        except ConfigurationError as exc:
            print("ConfigurationError", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ConfigurationError"), result.stdout
    assert named in result.stdout
    assert "pip install 'locus[openai]'" not in result.stdout
