"""What changed between two versions of a process, element by element, read from the BPMN XML.

Elements are aligned by id (as SpiffWorkflow's migration aligns them), so a renamed id shows as one
element removed and one added. Each element is reduced to named aspects (name, lane, script,
condition, timer, form and other extension properties, attributes); a changed element lists the
aspects that differ with their old and new values. The diagram (bpmndi) is layout, not behaviour, and
is ignored. Elements are compared by meaning: an attribute written out with the value BPMN gives it
when it is left out (`cancelActivity="true"`), an empty name or documentation, counts as not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .lint import BPMN_NS, FLOW_NODES, local, qualified

# Elements worth reporting on their own; their other children are aspects of them.
ELEMENTS = FLOW_NODES | {"process", "sequenceFlow", "lane", "participant", "messageFlow", "message"}
_STRUCTURE = {"incoming", "outgoing", "flowNodeRef", "childLaneSet", "laneSet"}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


@dataclass(frozen=True)
class Element:
    id: str
    name: str | None
    type: str
    aspects: dict[str, str]


@dataclass(frozen=True)
class Change:
    id: str
    name: str | None
    type: str
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "changes": self.changes}


@dataclass(frozen=True)
class Diff:
    added: list[Change]
    removed: list[Change]
    changed: list[Change]

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "added": [c.as_dict() for c in self.added],
            "removed": [c.as_dict() for c in self.removed],
            "changed": [c.as_dict() for c in self.changed],
        }


def diff(old_xml: str, new_xml: str) -> Diff:
    old, new = elements(old_xml), elements(new_xml)
    added = [Change(e.id, e.name, e.type) for i, e in new.items() if i not in old]
    removed = [Change(e.id, e.name, e.type) for i, e in old.items() if i not in new]
    changed = []
    for element_id, before in old.items():
        after = new.get(element_id)
        if after is None or after.aspects == before.aspects:
            continue
        keys = list(dict.fromkeys([*before.aspects, *after.aspects]))
        changes = [
            {"field": k, "from": _shown(before, k), "to": _shown(after, k)}
            for k in keys
            if before.aspects.get(k) != after.aspects.get(k)
        ]
        changed.append(Change(element_id, after.name or before.name, after.type, changes))
    return Diff(added, removed, changed)


def _shown(element: Element, aspect: str) -> str | None:
    """An aspect's value, or the value BPMN gives an attribute that is left out."""
    value = element.aspects.get(aspect)
    if value is None and aspect.startswith("@"):
        return DEFAULTS.get(element.type, {}).get(aspect[1:])
    return value


def elements(bpmn_xml: str) -> dict[str, Element]:
    """Every reportable element of a (deployed, so well-formed) BPMN document, by id, in document order."""
    tree = etree.fromstring(bpmn_xml.encode(), parser=_XML_PARSER)
    lanes = {
        ref.text.strip(): ref.getparent().get("name") or ref.getparent().get("id")
        for ref in tree.iter(f"{{{BPMN_NS}}}flowNodeRef")
        if ref.text
    }
    found = {}
    for el in tree.iter(etree.Element):
        if etree.QName(el).namespace != BPMN_NS or local(el) not in ELEMENTS or not el.get("id"):
            continue
        aspects = {"type": local(el), **_attributes(el)}
        if el.get("id") in lanes:
            aspects["lane"] = lanes[el.get("id")]
        for child in el:
            if isinstance(child.tag, str) and not _is_own_element(child):
                aspects.update(_child_aspects(child))
        found[el.get("id")] = Element(el.get("id"), el.get("name"), local(el), aspects)
    return found


def _is_own_element(el: etree._Element) -> bool:
    return local(el) in _STRUCTURE or (
        etree.QName(el).namespace == BPMN_NS and local(el) in ELEMENTS and el.get("id") is not None
    )


def _attributes(el: etree._Element) -> dict[str, str]:
    out = {}
    defaults = DEFAULTS.get(local(el), {})
    for attribute, value in el.attrib.items():
        if (
            attribute == "id"
            or defaults.get(attribute) == value
            or (attribute == "name" and not value.strip())
        ):
            continue
        name = qualified(el, attribute)
        out["name" if name == "name" else f"@{name}"] = value
    return out


# The values BPMN 2.0 (its XML schema) gives attributes that are left out.
_ACTIVITY = {"isForCompensation": "false", "startQuantity": "1", "completionQuantity": "1"}
_GATEWAY = {"gatewayDirection": "Unspecified"}
_CATCH = {"parallelMultiple": "false"}
DEFAULTS: dict[str, dict[str, str]] = {
    "task": _ACTIVITY,
    "manualTask": _ACTIVITY,
    "scriptTask": _ACTIVITY,
    "callActivity": _ACTIVITY,
    "userTask": _ACTIVITY | {"implementation": "##unspecified"},
    "serviceTask": _ACTIVITY | {"implementation": "##WebService"},
    "sendTask": _ACTIVITY | {"implementation": "##WebService"},
    "receiveTask": _ACTIVITY | {"implementation": "##WebService", "instantiate": "false"},
    "businessRuleTask": _ACTIVITY | {"implementation": "##unspecified"},
    "subProcess": _ACTIVITY | {"triggeredByEvent": "false"},
    "transaction": _ACTIVITY | {"triggeredByEvent": "false", "method": "##Compensate"},
    "adHocSubProcess": _ACTIVITY | {"triggeredByEvent": "false", "cancelRemainingInstances": "true"},
    "exclusiveGateway": _GATEWAY,
    "parallelGateway": _GATEWAY,
    "inclusiveGateway": _GATEWAY,
    "complexGateway": _GATEWAY,
    "eventBasedGateway": _GATEWAY | {"instantiate": "false", "eventGatewayType": "Exclusive"},
    "startEvent": _CATCH | {"isInterrupting": "true"},
    "intermediateCatchEvent": _CATCH,
    "boundaryEvent": _CATCH | {"cancelActivity": "true"},
    "process": {"isClosed": "false", "processType": "None"},
}


def _text(el: etree._Element) -> str:
    return (el.text or "").strip()


def _child_aspects(child: etree._Element) -> dict[str, str]:
    tag = local(child)
    if tag in ("documentation", "script", "conditionExpression"):
        text = _text(child)
        return {{"conditionExpression": "condition"}.get(tag, tag): text} if text else {}
    if tag == "extensionElements":
        return _extension_aspects(child)
    if tag.endswith("EventDefinition"):
        out = {"event": tag}
        for part in child.iter(etree.Element):
            if part is not child and _text(part):
                out[f"event.{local(part)}"] = _text(part)
        out.update({f"event.{k[1:]}": v for k, v in _attributes(child).items()})
        return out
    # Anything else (loop characteristics, data associations, …): compared as canonical XML.
    return {tag: etree.tostring(child, method="c14n", with_comments=False).decode()}


def _extension_aspects(extensions: etree._Element) -> dict[str, str]:
    """Extension elements flattened to `tag:identifier` keys: spiffworkflow/camunda properties become
    `property:formKey`, scripts `preScript`, the service operator `serviceTaskOperator@id`, …"""
    out = {}
    for el in extensions.iter(etree.Element):
        if el is extensions:
            continue
        tag = local(el)
        ident = el.get("name") or (el.get("id") if el.get("value") is not None else None)
        key = f"{tag}:{ident}" if ident else tag
        if el.get("value") is not None:
            out[key] = el.get("value")
        elif _text(el):
            out[key] = _text(el)
        for attribute, value in el.attrib.items():
            if attribute not in ("name", "value") and not (attribute == "id" and ident):
                out[f"{key}@{qualified(el, attribute)}"] = value
    return out
