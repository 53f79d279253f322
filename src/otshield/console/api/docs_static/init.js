// otshield: start Swagger UI on the console's OpenAPI schema (a file, not an inline script,
// so the page works under the console's Content-Security-Policy: script-src 'self').
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
