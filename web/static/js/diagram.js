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

// Labels are drawn at 12 px at zoom 1: never shown below 11 px, however wide the process. A wider diagram
// pans (drag, or the buttons) and starts where the case is now.
const MIN_ZOOM = 11 / 12;
// The 环节 of the path taken: the steps a person or a service performs, not gateways, scripts and events.
const STEPS = new Set(["bpmn:UserTask", "bpmn:ServiceTask", "bpmn:SendTask", "bpmn:ManualTask", "bpmn:CallActivity"]);

// Fit the diagram if its labels stay readable; otherwise show it at full size around where the case is
// (where it waits, or the last step it completed).
function readable(canvas, registry, focus) {
  canvas.zoom("fit-viewport");
  if (canvas.zoom() >= MIN_ZOOM) return;
  canvas.zoom(1);
  const here = focus.map((id) => registry.get(id)).find(Boolean);
  if (here) canvas.scrollToElement(here, { top: 40, bottom: 40, left: 120, right: 120 });
  else canvas.viewbox({ ...canvas.viewbox(), x: 0, y: 0 });
}

function controls(container, canvas, registry, focus) {
  const button = (label, onclick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", onclick);
    return b;
  };
  const box = document.createElement("div");
  box.className = "diagram-controls";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "流程图缩放");
  const step = (by) => canvas.zoom(Math.max(MIN_ZOOM, canvas.zoom() * by));
  const pan = (dx, dy) => canvas.scroll({ dx, dy });
  box.append(
    button("放大", () => step(1.25)), button("缩小", () => step(0.8)),
    button("当前环节", () => readable(canvas, registry, focus)),
    button("向左", () => pan(200, 0)), button("向右", () => pan(-200, 0)),
    button("全图（缩小显示）", () => canvas.zoom("fit-viewport")),
  );
  container.before(box);
}

export async function showDiagram(container, { xml, completed, active }, history = []) {
  const viewer = new BpmnJS({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const focus = active.length ? active : [...completed].reverse().filter((id) => STEPS.has(registry.get(id)?.type));
  readable(canvas, registry, focus);
  controls(container, canvas, registry, focus);
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
  const steps = (ids) => ids.filter((id) => STEPS.has(registry.get(id)?.type)).map(name);
  return { viewer, completed: steps(completed), active: steps(active) };
}
