import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/**
 * With Redis unreachable the gateway neither fails closed (the API stays up) nor open: each
 * isolate enforces the same limits in a local window.
 */
describe("rate limits without Redis", () => {
  it("still serves requests and still refuses the 6th auth call in a minute", async () => {
    const ip = "192.0.2.44";
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const response = await exports.default.fetch(
        new Request("https://api.edgebank.test/v1/auth/token", {
          method: "POST",
          headers: { "cf-connecting-ip": ip },
          body: "{}",
        }),
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});
