// The BPMN diagram of a case (bpmn-js viewer, vendored): completed elements, the flows taken between
// them, and where the case waits now.
/* global BpmnJS */

// Flows taken: from a gateway, the ones to the targets it chose (history `gateway.taken`); from any
// other element, those between two visited elements.
function takenFlows(registry, visited, chosen) {
  return registry.filter((el) => {
    if (el.type !== "bpmn:SequenceFlow" || !el.source || !el.target) return false;
    const from = el.source.id;
    const to = el.target.id;
    if (!visited.has(from) || !visited.has(to)) return false;
    return chosen.has(from) ? chosen.get(from).has(to) : !el.source.type.endsWith("Gateway");
  });
}

export async function showDiagram(container, { xml, completed, active }, history = []) {
  const viewer = new BpmnJS({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.zoom("fit-viewport");
  const chosen = new Map();
  for (const e of history) {
    if (e.action === "gateway.taken" && e.payload?.gateway) {
      if (!chosen.has(e.payload.gateway)) chosen.set(e.payload.gateway, new Set());
      for (const to of e.payload.to || []) chosen.get(e.payload.gateway).add(to);
    }
  }
  const visited = new Set([...completed, ...active]);
  for (const id of completed) if (registry.get(id)) canvas.addMarker(id, "cb-done");
  for (const flow of takenFlows(registry, visited, chosen)) canvas.addMarker(flow.id, "cb-done");
  for (const id of active) if (registry.get(id)) canvas.addMarker(id, "cb-active");
  const name = (id) => registry.get(id)?.businessObject?.name || id;
  return {
    viewer,
    completed: completed.filter((id) => registry.get(id)).map(name),
    active: active.filter((id) => registry.get(id)).map(name),
  };
}
