/**
 * A client of the Workers Analytics Engine SQL API (`POST
 * <api>/accounts/<account>/analytics_engine/sql`, bearer token, the query as the body): what
 * dashboards, alerts and the canary read metrics through. `baseUrl` is the API's base
 * (`https://api.cloudflare.com/client/v4`, or CLOUDFLARE_API_BASE_URL's stand-in locally).
 */

export interface AnalyticsEngineApi {
  baseUrl: string;
  accountId: string;
  token: string;
}

export interface AnalyticsResult<Row> {
  meta: Array<{ name: string; type: string }>;
  data: Row[];
  rows: number;
}

export async function queryAnalyticsEngine<Row = Record<string, string | number>>(
  api: AnalyticsEngineApi,
  sql: string,
): Promise<AnalyticsResult<Row>> {
  const response = await fetch(`${api.baseUrl.replace(/\/+$/, "")}/accounts/${api.accountId}/analytics_engine/sql`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.token}` },
    body: sql,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Analytics Engine SQL API answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as AnalyticsResult<Row>;
}
