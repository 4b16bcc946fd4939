import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("delivery", (path, init) =>
  exports.default.fetch(new Request(`http://delivery.internal${path}`, init)),
);
