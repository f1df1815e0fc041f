// A throwaway OpenID Provider for Atelier's tests, built on panva's
// oidc-provider (see package.json for the pinned version).
//
//   node end2end/oidc-provider.mjs --port PORT --redirect-uri URI [--redirect-uri URI ...]
//
// Issuer http://127.0.0.1:PORT (discovery at /.well-known/openid-configuration),
// listening on 127.0.0.1 only. Prints exactly `ready http://127.0.0.1:PORT` on
// stdout once it accepts connections; everything else goes to stderr. State is
// in memory only and is lost on exit (SIGTERM/SIGINT).
//
// Clients (confidential, client_secret_basic, authorization code, PKCE S256
// required, secret `atelier-test-secret`, the --redirect-uri values):
//   atelier           normal
//   atelier-expired   its ID tokens are already expired when issued (exp = now - 300)
//   atelier-audience  its ID tokens have aud ["atelier-audience", "some-other-app"]
//                     (and azp "atelier-audience")
//   atelier-foreign   its ID tokens have aud "some-other-app" only (not the client)
//
// Accounts: any login NAME signs in as sub NAME, with name and
// preferred_username NAME, email NAME@example.test (verified), and groups
// ["contractors"] if NAME starts with "contractor", ["staff"] otherwise. Scope
// profile carries name, preferred_username and groups; scope email carries
// email and email_verified; all of them are in the ID token itself.
//
// Signing in from Playwright (oidc-provider's built-in "dev interactions";
// the inputs have placeholders but no <label>, so locate them by placeholder):
//   1. The client sends the browser to http://127.0.0.1:PORT/auth?...; it is
//      redirected to the login page http://127.0.0.1:PORT/interaction/<uid>
//      (heading "Sign-in").
//   2. page.getByPlaceholder('Enter any login').fill(NAME)
//      page.getByPlaceholder('and password').fill('anything')  // required, never checked
//      page.getByRole('button', { name: 'Sign-in' }).click()
//   3. Consent page http://127.0.0.1:PORT/interaction/<another uid> (heading
//      "Authorize", lists the scopes and claims):
//      page.getByRole('button', { name: 'Continue' }).click()
//   4. The browser is redirected to redirect_uri?code=...&state=...&iss=...
//   The "[ Cancel ]" link on either page returns error=access_denied instead.
//   Within one browser context the provider's session remembers the login:
//   a later sign-in skips step 2, and skips step 3 too for a client already
//   consented to. Its cookies are named op_* so they cannot clash with
//   Atelier's own cookies on the same host (cookies ignore the port).

import { createSign, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

// oidc-provider prints its notices with console.info, which is stdout; the
// caller reads stdout for the ready line alone.
console.log = console.info = console.debug = (...args) => console.error(...args);

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
  },
});
const port = Number(args.port);
const redirectUris = args['redirect-uri'] ?? [];
if (!Number.isInteger(port) || port <= 0 || port > 65535 || redirectUris.length === 0) {
  console.error('usage: node oidc-provider.mjs --port PORT --redirect-uri URI [--redirect-uri URI ...]');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const SECRET = 'atelier-test-secret';
const EXPIRED_CLIENT = 'atelier-expired';
const AUDIENCE_CLIENT = 'atelier-audience';
const FOREIGN_CLIENT = 'atelier-foreign';
const OTHER_AUDIENCE = 'some-other-app';

// A fresh RS256 key each run (RS256 is what openidconnect accepts by default).
// We keep the private half because the ID tokens of the two misbehaving
// clients are re-signed below.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

function client(clientId) {
  return {
    client_id: clientId,
    client_secret: SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
  };
}

const provider = new Provider(issuer, {
  clients: [client('atelier'), client(EXPIRED_CLIENT), client(AUDIENCE_CLIENT), client(FOREIGN_CLIENT)],
  jwks: { keys: [signingJwk] },
  // The default (true) moves scope-requested claims out of the ID token into
  // userinfo whenever an access token is issued; Atelier reads the ID token.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'groups'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'profile', 'email'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: sub,
          preferred_username: sub,
          email: `${sub}@example.test`,
          email_verified: true,
          groups: sub.startsWith('contractor') ? ['contractors'] : ['staff'],
        };
      },
    };
  },
  // Served over plain http, so cookies are never marked Secure (the provider
  // only does that when the request itself is https). Names are prefixed so
  // they cannot overwrite Atelier's cookies on the same host.
  cookies: {
    keys: ['atelier-e2e-cookie-key'],
    names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
  },
  // Explicit TTLs, mostly to silence the "you SHOULD change" notices. They
  // must be positive integers (zero or negative is rejected), which is why
  // expiry is done by re-signing instead.
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
});

// The provider has no setting for an already expired ID token or for extra
// ID token audiences (exp and aud are always computed from ttl and client_id),
// so for those clients the token endpoint's ID token is rewritten and
// signed again with the same key. Everything else in it stays as issued.
function resign(idToken, change) {
  const [header, payload] = idToken.split('.', 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  change(payload);
  const input = [header, payload]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey, 'base64url');
  return `${input}.${signature}`;
}

const now = () => Math.floor(Date.now() / 1000);

provider.use(async (ctx, next) => {
  await next();

  if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.id_token) {
    const clientId = ctx.oidc.client?.clientId;
    if (clientId === EXPIRED_CLIENT) {
      // Five minutes ago, well past any clock-skew allowance of a relying party.
      ctx.body.id_token = resign(ctx.body.id_token, (p) => { p.exp = now() - 300; });
    } else if (clientId === AUDIENCE_CLIENT) {
      ctx.body.id_token = resign(ctx.body.id_token, (p) => {
        p.aud = [clientId, OTHER_AUDIENCE];
        // With several audiences the spec wants azp naming the client, so a
        // relying party's only reason to refuse is the untrusted audience.
        p.azp = clientId;
      });
    } else if (clientId === FOREIGN_CLIENT) {
      // Issued for another application altogether.
      ctx.body.id_token = resign(ctx.body.id_token, (p) => { p.aud = OTHER_AUDIENCE; });
    }
  }

  // The dev interaction pages import a Google font; tests must not reach
  // the internet, nor wait on it.
  if (ctx.oidc?.route === 'interaction' && typeof ctx.body === 'string') {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/, '');
  }
});

// Errors the provider answers with are otherwise silent; a line each helps
// when a browser test stalls on an error page.
for (const event of ['authorization.error', 'grant.error', 'server_error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => {
    const detail = err.error_detail ? ` (${err.error_detail})` : '';
    console.error(`oidc-provider ${event}: ${err.error ?? err.name}: ${err.error_description ?? err.message}${detail}`);
  });
}

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
server.on('error', (err) => {
  console.error(`oidc-provider: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  server.close(() => process.exit(0));
  // Browsers keep connections alive; don't wait for them to go idle.
  server.closeAllConnections();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
