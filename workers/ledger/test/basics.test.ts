import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("ledger", (path, init) =>
  exports.default.fetch(new Request(`http://ledger.internal${path}`, init)),
);
