/** The base URL the committed document names; a live document's own base URL is replaced by it. */
export const CANONICAL_BASE_URL = "https://api.edgebank.dev";

/**
 * A live `/openapi.json` as it is committed: the environment's base URL replaced by the
 * canonical one and the version left out, so a document served by any environment and any
 * build of the same code compares equal to the committed one.
 */
export function normalizeDocument(document: unknown, baseUrl: string): Record<string, unknown> {
  const text = JSON.stringify(document).replaceAll(baseUrl.replace(/\/$/, ""), CANONICAL_BASE_URL);
  const normalized = JSON.parse(text) as { info: Record<string, unknown> } & Record<string, unknown>;
  normalized.info = { ...normalized.info, version: "unversioned" };
  return normalized;
}

/** The committed form of a document: two-space JSON with a final newline. */
export const documentText = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;
