import { exports } from "cloudflare:workers";
import { describeServiceBasics } from "@edgebank/service/testing";

describeServiceBasics("auth", (path, init) => exports.default.fetch(new Request(`http://auth.internal${path}`, init)));
