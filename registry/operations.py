"""The registry's named service-task operations; `composition/wiring.py` registers them into the engine.

Each takes the engine's `OperationContext` and writes in the caller's transaction, to the case's own
person only (`ctx.person_id`).
"""

from __future__ import annotations

from typing import Any

from . import persons


def store(ctx: Any) -> dict[str, Any]:
    """`registry.store`: 入库 of the approved 全民参保登记表 in `ctx.data["registration"]`."""
    return persons.store(
        ctx.session,
        actor=ctx.actor,
        case_id=ctx.case_id,
        case_area=ctx.case_area,
        person_id=ctx.person_id,
        registration=ctx.data["registration"],
    )


def apply_change(ctx: Any) -> dict[str, Any]:
    """`registry.apply_change`: apply the approved change request in `ctx.data["change_request"]`."""
    return persons.apply_change(
        ctx.session,
        actor=ctx.actor,
        case_id=ctx.case_id,
        case_area=ctx.case_area,
        person_id=ctx.person_id,
        change_request=ctx.data["change_request"],
    )
