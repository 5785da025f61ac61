"""The composition root: registers each package's service-task operations into the engine."""

from __future__ import annotations

from archive import sealing
from engine import operations
from registry import operations as registry_operations


def wire() -> None:
    operations.register("registry.store", registry_operations.store, title="入库")
    operations.register("registry.apply_change", registry_operations.apply_change, title="变更入库")
    operations.register("archive.seal", sealing.seal, title="档案封存", deferred=True)
