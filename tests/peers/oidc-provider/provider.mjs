// The reference OpenID provider (panva/oidc-provider, OpenID Certified) as a test peer.
//
// Usage: node provider.mjs '<JSON configuration>'   (or: node provider.mjs @config.json)
//
// The configuration (every member optional but `port`):
//   port            the 127.0.0.1 port to listen on (the pytest fixture picks a free one)
//   clients         oidc-provider client metadata objects (client_id, client_secret,
//                   redirect_uris, post_logout_redirect_uris, grant_types, ...)
//   keys            private JWKs to sign with (ES256 by default; one is generated if absent)
//   resource        an API audience: access tokens become RFC 9068 JWTs (at+jwt) for it;
//                   without it they are opaque (usable at userinfo only)
//   resourceScope   the API's scopes (space-separated, default "api:read")
//   accessTokenTTL  seconds (default 600); idTokenTTL (3600); refreshTokenTTL (86400)
//   clientCredentials  true to enable the client_credentials grant (benchmarks)
//   accounts        { "<login>": { "email": ..., "name": ... } }; an unknown login gets
//                   "<login>@example.test"
//
// Refresh tokens always rotate, and a rotated (consumed) one presented again revokes the whole
// grant (oidc-provider's reuse detection, RFC 6819 5.2.2.3). Sign-in is oidc-provider's own
// devInteractions form (inputs `login` and `password`, any password); consent is implied for
// the configured first-party clients (loadExistingGrant below).
//
// It prints "LISTENING <issuer>" on stdout once it accepts connections, and serves
// GET /_peer/stats: counts of token endpoint outcomes by grant type, for tests to read.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const raw = process.argv[2] ?? '{}';
const config = JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw);
const port = config.port;
const issuer = `http://127.0.0.1:${port}`;
const resource = config.resource ?? null;
const resourceScope = config.resourceScope ?? 'api:read';
const accessTokenTTL = config.accessTokenTTL ?? 600;
const accounts = config.accounts ?? {};

function es256Key() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'peer-es256' };
}

const stats = { token: {}, errors: {}, userinfo: 0, end_session: 0 };
function count(bucket, name) {
  bucket[name] = (bucket[name] ?? 0) + 1;
}

const clients = (config.clients ?? []).map((c) => ({
  id_token_signed_response_alg: 'ES256',
  ...c,
}));

const configuration = {
  clients,
  jwks: { keys: config.keys ?? [es256Key()] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The ID token carries the scope's claims (not only userinfo): the SDK reads them there.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: accounts[id]?.email ?? `${id}@example.test`,
      email_verified: true,
      name: accounts[id]?.name ?? id,
    }),
  }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: Boolean(config.clientCredentials) },
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // The default page pulls a web font from the Internet; this one is self-contained.
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign out</title></head>
<body><h1>Sign out of the provider?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
</body></html>`;
      },
    },
    resourceIndicators: {
      enabled: Boolean(resource),
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: resourceScope,
        audience: resource,
        accessTokenTTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  pkce: { required: () => true },
  // RFC 6819 5.2.2.3 / OAuth 2.1: every refresh rotates the refresh token.
  rotateRefreshToken: () => true,
  // Refresh tokens for every client allowed the grant, without offline_access and its consent.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // First-party clients: consent is implied, so sign-in is the login form only.
  loadExistingGrant: async (ctx) => {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile offline_access');
    grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name']);
    if (resource) grant.addResourceScope(resource, resourceScope);
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: () => accessTokenTTL,
    ClientCredentials: () => accessTokenTTL,
    IdToken: () => config.idTokenTTL ?? 3600,
    RefreshToken: () => config.refreshTokenTTL ?? 86400,
    AuthorizationCode: () => 60,
    Grant: () => 86400,
    Interaction: () => 600,
    Session: () => 86400,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    const safe = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>${safe(out.error)}</h1><p>${safe(out.error_description ?? '')}</p></body></html>`;
  },
};

const provider = new Provider(issuer, configuration);

provider.on('grant.success', (ctx) => count(stats.token, ctx.oidc.params.grant_type));
provider.on('grant.error', (ctx, error) => {
  count(stats.errors, `${ctx.oidc.params?.grant_type}:${error.error ?? error.name}`);
});
provider.on('userinfo.success', () => { stats.userinfo += 1; });
provider.on('end_session.success', () => { stats.end_session += 1; });
provider.on('server_error', (_ctx, error) => console.error('server_error', error));

provider.use(async (ctx, next) => {
  if (ctx.path === '/_peer/stats') {
    ctx.body = stats;
    return;
  }
  await next();
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
