export { baseVars, bindingWith, booleanVar, defineConfig, listVar } from "./config.ts";
