// The API reference: Scalar, reading the gateway's OpenAPI document on this origin. Nothing is
// fetched from elsewhere (no hosted fonts, no proxy, no telemetry): the page's policy allows none.
Scalar.createApiReference("#reference", {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  metaData: { title: "edgebank API reference" },
});
