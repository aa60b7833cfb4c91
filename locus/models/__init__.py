"""Models: the provider protocol, model strings, and the offline mock."""

from locus.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    StreamItem,
    TextDelta,
    ToolSpec,
)
from locus.models.env import from_env
from locus.models.guard import check_allow_model_requests, set_allow_model_requests
from locus.models.mock import MockInfo, MockModel, tool_call
from locus.models.registry import available_providers, infer_model

__all__ = [
    "MockInfo",
    "MockModel",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "StreamItem",
    "TextDelta",
    "ToolSpec",
    "available_providers",
    "check_allow_model_requests",
    "from_env",
    "infer_model",
    "set_allow_model_requests",
    "tool_call",
]
