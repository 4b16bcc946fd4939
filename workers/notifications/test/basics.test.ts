import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("notifications", (path, init) =>
  exports.default.fetch(new Request(`http://notifications.internal${path}`, init)),
);
