// The modeler's third-party parts in one offline bundle (built by `python -m web.vendor` with esbuild into
// /static/vendor/bpmn-js/modeler.js, global `CanbaoModeler`): bpmn-js's Modeler, the properties panel with
// its BPMN provider, the panel's entry components and preact's `h` for canbao's own provider
// (static/js/bpmn_properties.js), and the community Chinese translations (static/js/bpmn_zh.js adds to them).
export { default as Modeler } from "bpmn-js/lib/Modeler";
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from "bpmn-js-properties-panel";
export {
  CheckboxEntry,
  Group,
  SelectEntry,
  TextFieldEntry,
  isCheckboxEntryEdited,
  isSelectEntryEdited,
  isTextFieldEntryEdited,
} from "@bpmn-io/properties-panel";
export { h } from "@bpmn-io/properties-panel/preact";
export { default as zn } from "bpmn-js-i18n/translations/zn.js";
