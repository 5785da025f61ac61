"""The base of every response body model. A model names the keys its view writes, with their types, for
the OpenAPI document and for clients generated from it; a key it does not name passes through unchanged,
so a model never drops what a view sends."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="allow")
