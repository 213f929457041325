// OpenID Connect by Node's openid-client (v6) against a jwtwarden server on 127.0.0.1:
// discovery from /.well-known/openid-configuration (Discovery 1.0), the code flow with PKCE
// and a nonce, the ID token validated by openid-client (signature through the JWKS, iss, aud,
// exp, nonce) and again by jose's jwtVerify through the JWKS URL, userinfo, and RP-Initiated
// Logout with the ID token as id_token_hint; afterwards userinfo and refresh must fail.
// openid-client refuses plain http unless told: `allowInsecureRequests`, for this loopback
// test server only.
// Usage: node oidc_flow.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI LOGOUT_URI EMAIL PASSWORD
import * as client from "openid-client";
import { createRemoteJWKSet, jwtVerify } from "jose";

import { Browser } from "./_browser.mjs";

const [issuer, clientId, clientSecret, redirectUri, logoutUri, email, password] =
  process.argv.slice(2);
const out = {};

const config = await client.discovery(
  new URL(issuer),
  clientId,
  undefined,
  client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests] },
);
const metadata = config.serverMetadata();
out.end_session_endpoint = metadata.end_session_endpoint;
out.userinfo_endpoint = metadata.userinfo_endpoint;

const verifier = client.randomPKCECodeVerifier();
const challenge = await client.calculatePKCECodeChallenge(verifier);
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: "openid email",
  code_challenge: challenge,
  code_challenge_method: "S256",
  state,
  nonce,
});

// The browser: the hosted sign-in page and its form (_browser.mjs); its cookies are sent
// again at logout.
const browser = new Browser();
const { callback } = await browser.signIn(url, issuer, email, password);

// Validates the ID token: signature (JWKS), iss, aud, exp, iat, nonce; state and iss too.
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
out.nonce_echoed = claims.nonce === nonce;
out.aud = claims.aud;
out.has_auth_time = typeof claims.auth_time === "number";
out.has_sid = typeof claims.sid === "string";
out.has_at_hash = typeof claims.at_hash === "string";

// The same ID token through jose and the JWKS URL, as any relying party would check it.
const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
const verified = await jwtVerify(tokens.id_token, jwks, {
  issuer,
  audience: clientId,
  typ: "JWT",
  algorithms: ["RS256"],
});
out.jose_alg = verified.protectedHeader.alg;
out.jose_sub_matches = verified.payload.sub === claims.sub;

const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
out.userinfo = { email: info.email, email_verified: info.email_verified, sub_matches: info.sub === claims.sub };

// RP-Initiated Logout: the ID token as the hint, a registered post-logout URI, state echoed.
const logoutState = client.randomState();
const endSession = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: logoutUri,
  state: logoutState,
});
const loggedOut = await fetch(endSession, {
  redirect: "manual",
  headers: { cookie: browser.cookie() },
});
browser.remember(loggedOut);
out.logout_status = loggedOut.status;
const back = new URL(loggedOut.headers.get("location"));
out.logout_location = back.origin + back.pathname;
out.logout_state_echoed = back.searchParams.get("state") === logoutState;
out.signin_cookie_cleared = ![...browser.jar.keys()].some((name) =>
  name.endsWith("jwtwarden-signin"),
);

try {
  await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  out.userinfo_after_logout = "answered";
} catch (error) {
  out.userinfo_after_logout = error.status ?? error.code ?? String(error);
}
try {
  await client.refreshTokenGrant(config, tokens.refresh_token);
  out.refresh_after_logout = "refreshed";
} catch (error) {
  out.refresh_after_logout = error.error ?? String(error);
}
console.log(JSON.stringify(out));
