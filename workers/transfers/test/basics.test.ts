import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("transfers", (path, init) =>
  exports.default.fetch(new Request(`http://transfers.internal${path}`, init)),
);
