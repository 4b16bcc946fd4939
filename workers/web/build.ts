/**
 * Builds the web app into dist/: app/main.ts bundled for browsers (with @edgebank/client), the
 * page and its stylesheet copied beside it. wrangler runs it (see [build] in wrangler.toml).
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
mkdirSync(here("dist"), { recursive: true });
await build({
  entryPoints: [here("app/main.ts")],
  outfile: here("dist/main.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
for (const file of ["index.html", "app.css"]) copyFileSync(here(`app/${file}`), here(`dist/${file}`));
