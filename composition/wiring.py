"""The composition root: registers each package's service-task operations, and the registry's check of
the persons cases name, into the engine."""

from __future__ import annotations

from archive import sealing
from engine import binding, operations
from registry import operations as registry_operations
from registry import persons

from . import casework


def wire() -> None:
    binding.register_guard(persons.guard_case_person)
    operations.register("registry.store", registry_operations.store, title="入库")
    operations.register("registry.apply_change", registry_operations.apply_change, title="变更入库")
    operations.register("registry.correct_id_number", casework.correct_id_number, title="更正公民身份号码")
    operations.register("archive.seal", sealing.seal, title="归档", deferred=True)
