import postgres from "postgres";

/** Sessions and machine credentials the benchmarks sign in with, through the stack's gateway. */

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export async function login(stackUrl: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${stackUrl}/v1/auth/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: email, password, client_id: "edgebank-app" }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A new customer, signed in. */
export async function customerSession(stackUrl: string, label: string): Promise<string> {
  const email = `bench.${label}.${Date.now()}@example.test`;
  const password = `benchmark ${label} passphrase`;
  const registered = await post(`${stackUrl}/v1/auth/register`, { email, password });
  if (!registered.ok) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  return login(stackUrl, email, password);
}

/**
 * A machine client's access token with `scopes` (as transfers and payments have): an operator
 * (promoted in the auth database, as a bank would do out of band) creates the client, and the
 * benchmark signs in with client_credentials.
 */
export async function provisionServiceToken(
  stackUrl: string,
  authDatabaseUrl: string,
  scopes: string[],
): Promise<string> {
  const email = `bench.operator.${Date.now()}@example.test`;
  const password = "benchmark operator passphrase";
  const registered = await post(`${stackUrl}/v1/auth/register`, { email, password });
  if (!registered.ok) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const auth = postgres(authDatabaseUrl, { max: 1, onnotice: () => {} });
  await auth`update auth.users set role = 'operator' where email = ${email}`;
  await auth.end();
  const operator = await login(stackUrl, email, password);
  const created = await post(
    `${stackUrl}/v1/auth/clients`,
    { name: "benchmark client", scopes },
    { authorization: `Bearer ${operator}` },
  );
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${await created.text()}`);
  const client = (await created.json()) as { client_id: string; client_secret: string };
  const token = await fetch(`${stackUrl}/v1/auth/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: client.client_id,
      client_secret: client.client_secret,
      scope: scopes.join(" "),
    }),
  });
  if (!token.ok) throw new Error(`client_credentials failed: ${token.status} ${await token.text()}`);
  return ((await token.json()) as { access_token: string }).access_token;
}
