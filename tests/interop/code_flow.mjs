// The authorization code flow with PKCE by Node's openid-client (v6), against a jwtwarden
// server on 127.0.0.1: RFC 8414 discovery, the authorization URL, the hosted sign-in submitted
// as a browser submits it (its cookies, the CSRF field, an Origin header), the code exchange,
// refresh, introspection and revocation. openid-client refuses plain http unless told:
// `allowInsecureRequests` is set for this loopback test server only.
// Usage: node code_flow.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI EMAIL PASSWORD
import * as client from "openid-client";

const [issuer, clientId, clientSecret, redirectUri, email, password] = process.argv.slice(2);
const out = {};

const config = await client.discovery(
  new URL(issuer),
  clientId,
  undefined,
  client.ClientSecretBasic(clientSecret),
  { algorithm: "oauth2", execute: [client.allowInsecureRequests] },
);
out.authorization_endpoint = config.serverMetadata().authorization_endpoint;

const verifier = client.randomPKCECodeVerifier();
const challenge = await client.calculatePKCECodeChallenge(verifier);
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "read",
  code_challenge: challenge,
  code_challenge_method: "S256",
  state,
});

// The browser: a cookie jar by name (loopback counts as a secure context for Secure cookies).
const jar = new Map();
const remember = (response) => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (!value || /max-age=0/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
};
const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

const page = await fetch(url, { redirect: "manual" });
remember(page);
const html = await page.text();
out.page_status = page.status;
const form = new URLSearchParams();
for (const [, name, value] of html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) {
  form.set(name, value.replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&"));
}
form.set("email", email);
form.set("password", password);
const signedIn = await fetch(new URL("/signin", issuer), {
  method: "POST",
  redirect: "manual",
  headers: {
    "content-type": "application/x-www-form-urlencoded",
    cookie: cookie(),
    origin: new URL(issuer).origin,
  },
  body: form,
});
remember(signedIn);
out.signin_status = signedIn.status;
const callback = new URL(signedIn.headers.get("location"));
out.callback_iss = callback.searchParams.get("iss");

// Checks state and the RFC 9207 iss parameter, then exchanges the code with the verifier.
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
});
out.scope = tokens.scope;
out.has_refresh_token = typeof tokens.refresh_token === "string";

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
out.rotated = refreshed.refresh_token !== tokens.refresh_token;

const introspected = await client.tokenIntrospection(config, refreshed.access_token);
out.active = introspected.active;
out.introspected_client_id = introspected.client_id;

await client.tokenRevocation(config, refreshed.refresh_token);
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token);
  out.after_revocation = "refreshed";
} catch (error) {
  out.after_revocation = error.error ?? String(error);
}
console.log(JSON.stringify(out));
