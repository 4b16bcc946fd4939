import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("accounts", (path, init) =>
  exports.default.fetch(new Request(`http://accounts.internal${path}`, init)),
);
