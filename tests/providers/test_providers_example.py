"""examples/03_providers.py runs offline on the mock and shows each of its sections."""

from __future__ import annotations

from tests.example_runner import run_example


def test_providers_example_runs_the_agent_and_explains_the_mistakes() -> None:
    done = run_example("examples/03_providers.py")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "model: mock:default" in out
    assert "-> calls get_weather(" in out
    assert "<- get_weather:" in out
    assert "[complete after 2 model call(s)" in out
    assert "retried: RateLimitError, ProviderUnavailableError, ProviderTimeoutError" in out
    assert "UnknownModelError" in out and "Did you mean 'openai:'?" in out
    assert "ConfigurationError: no OpenAI API key: set OPENAI_API_KEY" in out
    assert "/nonexistent/oci/config does not exist" in out
    assert "RetryPolicy.max_attempts must be at least 1" in out
