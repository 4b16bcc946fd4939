import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

/**
 * Checks answers of the running stack against the committed API document
 * (`@edgebank/client`'s openapi.json): every status an operation answers must be one it
 * declares (or its `default`), and every JSON body must match the declared schema. The e2e
 * suites send their calls through `validatingFetch`, so a route that answers something its
 * document does not say fails the test that saw it.
 */
interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const document = JSON.parse(
  readFileSync(new URL("../../shared/client/openapi.json", import.meta.url), "utf8"),
) as Document;

// OpenAPI 3.1 schemas are JSON Schema 2020-12; formats and OpenAPI's own keywords are not checked.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: "api", components: document.components });

const templates = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

/** The documented path template a concrete path belongs to (literal paths before templated ones). */
export function templateOf(path: string): string | undefined {
  const literal = templates.find(({ template }) => template === path);
  return (literal ?? templates.find(({ pattern }) => pattern.test(path)))?.template;
}

const validators = new Map<string, ValidateFunction>();
function validatorOf(key: string, schema: object): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    // Local references (#/components/...) are resolved against the document.
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"api#/components/')) as object;
    validate = ajv.compile(rebased);
    validators.set(key, validate);
  }
  return validate;
}

/** What is wrong with an answer to `method path`, or undefined when it is as documented. */
export async function contractViolation(method: string, url: string, response: Response): Promise<string | undefined> {
  const { pathname } = new URL(url);
  const template = templateOf(pathname);
  const operation = template ? document.paths[template]?.[method.toLowerCase()] : undefined;
  if (!template || !operation) return `${method} ${pathname} is not in the API document`;
  const status = String(response.status);
  const declared = operation.responses?.[status] ?? operation.responses?.default;
  if (!declared) return `${method} ${template} answered ${status}, which it does not declare`;
  const type = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (!type || response.status === 204) return undefined;
  const content = declared.content;
  if (!content) return undefined;
  const media = content[type];
  if (!media)
    return `${method} ${template} answered ${status} as ${type}; declared: ${Object.keys(content).join(", ")}`;
  if (!media.schema || !type.endsWith("json")) return undefined;
  const body: unknown = await response.clone().json();
  const validate = validatorOf(`${method} ${template} ${status} ${type}`, media.schema);
  if (validate(body)) return undefined;
  return `${method} ${template} answered ${status} with a body that does not match its schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 600)}`;
}

/** `fetch`, but an answer that breaks the API document throws. */
export async function validatingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const response = await fetch(request);
  const violation = await contractViolation(request.method, request.url, response);
  if (violation) throw new Error(`API contract: ${violation}`);
  return response;
}
