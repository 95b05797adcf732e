// Renders the API document this server describes itself with (no inline script, so the page
// works under a Content-Security-Policy of 'self').
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
