// The API docs: Swagger UI from the vendored bundle, started here rather than in an inline script
// (the pages' CSP allows none). "Try it out" calls go out with the session cookie like the pages' own
// calls, so unsafe ones carry the CSRF header too; the public validator badge is off (no outside calls).
const root = document.getElementById("swagger-ui");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  domNode: root,
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  requestInterceptor: (request) => {
    request.headers["X-CSRF-Token"] = csrf;
    return request;
  },
});
