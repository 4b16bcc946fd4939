/**
 * npm run docs:events
 * Writes docs/events.md from the event catalog (shared/events). A test fails when the page is
 * stale, so a new or changed event always comes with its documentation.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventsMarkdown } from "../../shared/events/src/docs.ts";
import { repositoryRoot } from "../stack/stack.ts";

const target = join(repositoryRoot, "docs", "events.md");
mkdirSync(join(repositoryRoot, "docs"), { recursive: true });
writeFileSync(target, eventsMarkdown());
console.log(`wrote ${target}`);
