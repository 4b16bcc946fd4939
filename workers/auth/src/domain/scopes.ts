/**
 * A requested scope split into OpenID Connect's `openid` (an ID token is wanted) and the API
 * scopes, which the caller's role narrows.
 */
export function splitOpenId(scope: string | undefined): { openid: boolean; apiScope: string } {
  const parts = (scope ?? "").split(" ").filter(Boolean);
  return { openid: parts.includes("openid"), apiScope: parts.filter((part) => part !== "openid").join(" ") };
}
