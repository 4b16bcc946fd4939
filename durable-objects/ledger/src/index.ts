export { ChainWriter } from "./writer.ts";
