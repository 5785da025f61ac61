"""Named service-task operations: the only way a process reaches the registry or the archive.

The packages that own an operation register it at start-up (`canbao/wiring.py`); the engine imports
none of them. A BPMN service task names an operation; deploying a process that names an unknown
operation is refused.

`deferred` operations talk to systems outside the database (the object store): the engine does not
run them inside a user's transaction but leaves the case waiting, and the worker runs them with
retries until they succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from canbao.actors import Actor


@dataclass(frozen=True)
class OperationContext:
    session: Session
    actor: Actor
    case_id: int
    case_area: str
    person_id: str | None
    process_key: str
    data: dict[str, Any]


Operation = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class Registered:
    name: str
    fn: Operation
    title: str
    deferred: bool


_REGISTRY: dict[str, Registered] = {}


def register(name: str, fn: Operation, *, title: str, deferred: bool = False) -> None:
    """Make `fn(ctx, **params) -> dict | None` callable from service tasks as `name`."""
    _REGISTRY[name] = Registered(name, fn, title, deferred)


def get(name: str) -> Registered | None:
    return _REGISTRY.get(name)


def names() -> list[str]:
    return sorted(_REGISTRY)
