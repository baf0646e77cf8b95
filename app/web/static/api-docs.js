// Starts Swagger UI on /docs (app/web/api_docs.py). A file of its own, not an inline script,
// so the page's Content-Security-Policy allows scripts from our own origin only.
"use strict";

(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    // No validity badge fetched from validator.swagger.io: nothing leaves this machine.
    validatorUrl: null,
  });
})();
