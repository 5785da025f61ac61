"""The lean workflow serializer: a case row stores its runtime state and a reference to its
definition version, not a copy of the parsed spec (which is ~65 % of SpiffWorkflow's default JSON).

This relies on SpiffWorkflow's converter internals; the version is pinned (spiffworkflow 3.2) and
tests round-trip every process through it.
"""

from __future__ import annotations

import threading
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .specs import Parsed

SPEC_KEY = "definition_id"


class _SpecByReference(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct[SPEC_KEY] = workflow.definition_id
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict) -> BpmnWorkflow:
        parsed: Parsed = _loading.parsed
        workflow = self.target_class(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.definition_id = dct[SPEC_KEY]
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# The spec to attach while a state is deserialized (per thread: API workers run in a thread pool).
_loading = threading.local()
_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _SpecByReference
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dumps(workflow: BpmnWorkflow) -> str:
    return _SERIALIZER.serialize_json(workflow)


def loads(state: str, parsed: Parsed) -> BpmnWorkflow:
    _loading.parsed = parsed
    return _SERIALIZER.deserialize_json(state)
