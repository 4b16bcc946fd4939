import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("inventory", (path, init) =>
  exports.default.fetch(new Request(`http://inventory.internal${path}`, init)),
);
