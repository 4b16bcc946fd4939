import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("orders", (path, init) =>
  exports.default.fetch(new Request(`http://orders.internal${path}`, init)),
);
