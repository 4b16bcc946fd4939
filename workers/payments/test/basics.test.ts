import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("payments", (path, init) =>
  exports.default.fetch(new Request(`http://payments.internal${path}`, init)),
);
