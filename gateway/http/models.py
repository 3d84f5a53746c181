"""Request and response shapes as pydantic models: what the handlers validate is what the
OpenAPI document says (``model_json_schema`` becomes ``components/schemas``)."""

from __future__ import annotations

from pydantic import BaseModel

MODELS: dict[str, type[BaseModel]] = {}


def field_reasons(model: type[BaseModel]) -> list[str]:
    return [f"field.{name}" for name in model.model_fields]
