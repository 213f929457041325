// The authorization code flow with PKCE by Node's openid-client (v6), against a jwtwarden
// server on 127.0.0.1: RFC 8414 discovery, the authorization URL, the hosted sign-in submitted
// as a browser submits it (its cookies, the CSRF field, an Origin header), the code exchange,
// refresh, introspection and revocation. openid-client refuses plain http unless told:
// `allowInsecureRequests` is set for this loopback test server only.
// Usage: node code_flow.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI EMAIL PASSWORD
import * as client from "openid-client";

import { Browser } from "./_browser.mjs";

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

// The browser: the hosted sign-in page and its form (_browser.mjs).
const { page, signedIn, callback } = await new Browser().signIn(url, issuer, email, password);
out.page_status = page.status;
out.signin_status = signedIn.status;
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
