export { GroupCommit } from "./group-commit.ts";
