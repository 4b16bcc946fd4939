export * from "./analysis.ts";
export * from "./figures.ts";
export * from "./machine.ts";
export * from "./plan.ts";
