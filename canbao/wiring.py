"""The composition root: registers each package's service-task operations into the engine.

An operation whose package has not been built yet is registered as one that fails loudly (the step
rolls back, or a deferred step waits and retries with the reason shown), never as a silent no-op.
"""

from __future__ import annotations

from typing import NoReturn

from canbao.errors import Unavailable
from engine import operations
from engine.operations import OperationContext
from registry import operations as registry_operations


def _not_built(title: str):
    def fail(ctx: OperationContext, **params) -> NoReturn:
        raise Unavailable(f"“{title}”操作尚未启用，案件 {ctx.case_id} 在此步骤等待")

    return fail


def wire() -> None:
    operations.register("registry.store", registry_operations.store, title="入库")
    operations.register("registry.apply_change", registry_operations.apply_change, title="变更入库")
    operations.register("archive.seal", _not_built("档案封存"), title="档案封存", deferred=True)
