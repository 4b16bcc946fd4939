export { baseVars, bindingWith, booleanVar, defineConfig } from "./config.ts";
