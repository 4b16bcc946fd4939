import { z } from "zod";
import { eventCatalog } from "./catalog.ts";

/** docs/events.md: the catalog as a page, generated (npm run docs:events), never edited. */
export function eventsMarkdown(): string {
  const lines = [
    "# Events",
    "",
    "Generated from `shared/events/src/catalog.ts` by `npm run docs:events`; do not edit.",
    "",
    "Every event is a CloudEvents 1.0 JSON envelope (`specversion`, `id`, `type`, `source`,",
    "`subject` = the aggregate id and Kafka key, `time`, `datacontenttype`, `dataschema`, and the",
    "W3C `traceparent` extension) whose `data` is described below. `id` is unique per event:",
    "consumers keep it in their inbox and apply each event once.",
    "",
    "| type | version | producer | topic | meaning |",
    "| ---- | ------- | -------- | ----- | ------- |",
  ];
  const entries = Object.entries(eventCatalog).sort(([a], [b]) => a.localeCompare(b));
  for (const [type, definition] of entries) {
    lines.push(
      `| ${type} | ${definition.version} | ${definition.service} | \`${definition.topic}\` | ${definition.description} |`,
    );
  }
  for (const [type, definition] of entries) {
    lines.push("", `## ${type} v${definition.version}`, "", definition.description, "", "```json");
    lines.push(JSON.stringify(z.toJSONSchema(definition.data), null, 2), "```");
  }
  return `${lines.join("\n")}\n`;
}
