/**
 * Builds the web Worker's files into dist/, laid out as the URLs that serve them: the customer
 * app (/app), the operator console (/console), each a bundle of its TypeScript (with
 * @edgebank/client) beside its page and the shared stylesheet; and the API reference (/docs),
 * Scalar's standalone bundle beside its page. wrangler runs it (see [build] in wrangler.toml).
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
rmSync(here("dist"), { recursive: true, force: true });

const apps = [
  { source: "customer", path: "app" },
  { source: "console", path: "console" },
];
await Promise.all(
  apps.map(async ({ source, path }) => {
    mkdirSync(here(`dist/${path}`), { recursive: true });
    await build({
      entryPoints: [here(`app/${source}/main.ts`)],
      outfile: here(`dist/${path}/main.js`),
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      sourcemap: true,
      logLevel: "warning",
    });
    copyFileSync(here(`app/${source}/index.html`), here(`dist/${path}/index.html`));
    copyFileSync(here("app/shared/app.css"), here(`dist/${path}/app.css`));
  }),
);

mkdirSync(here("dist/docs"), { recursive: true });
copyFileSync(here("app/docs/index.html"), here("dist/docs/index.html"));
copyFileSync(here("app/docs/docs.js"), here("dist/docs/docs.js"));
const require = createRequire(import.meta.url);
const scalar = join(dirname(require.resolve("@scalar/api-reference")), "browser/standalone.js");
copyFileSync(scalar, here("dist/docs/scalar.js"));
