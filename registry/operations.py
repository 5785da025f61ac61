"""The registry's named service-task operations. `canbao/wiring.py` registers them into the engine:

    from engine import operations
    from registry.operations import OPERATIONS
    for name, (fn, title) in OPERATIONS.items():
        operations.register(name, fn, title=title)

Each takes the engine's `OperationContext` and writes in the caller's transaction.
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
        registration=ctx.data["registration"],
    )


def apply_change(ctx: Any) -> dict[str, Any]:
    """`registry.apply_change`: apply the approved change request in `ctx.data["change_request"]`."""
    return persons.apply_change(
        ctx.session,
        actor=ctx.actor,
        case_id=ctx.case_id,
        case_area=ctx.case_area,
        change_request=ctx.data["change_request"],
    )


OPERATIONS = {
    "registry.store": (store, "写入全民参保登记库（入库）"),
    "registry.apply_change": (apply_change, "登记信息变更入库"),
}
