// Test OpenID provider for Vangnet's end-to-end tests. NEVER use it for anything else: it logs
// anyone in as any configured user without a password.
//
// Usage:  node server.mjs CONFIG.json [--port N]
//         (or IDP_CONFIG=CONFIG.json IDP_PORT=N node server.mjs)
//
// Listens on 127.0.0.1 only. Port 0 (the default) takes a free port; the issuer is
// http://127.0.0.1:<port>. Once listening it prints exactly one line `READY <issuer>` on stdout;
// everything else goes to stderr.
//
// Staging (infra/entrypoints/deploy/compose.yaml, profile `staging`): IDP_HOST=0.0.0.0 listens on every
// interface of its container and IDP_ISSUER=https://idp.staging.example names the public issuer
// behind the TLS proxy (whose X-Forwarded-* headers are then trusted). Still fake users only.
//
// CONFIG.json:
//   {
//     "api_audience": "urn:vangnet:api",    // resource indicator / `aud` of the access tokens
//     "api_scopes": ["vangnet"],             // optional: scopes the API resource server knows
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["..."],
//                  "post_logout_redirect_uris": ["..."],            // optional
//                  "token_endpoint_auth_method": "client_secret_basic"}],  // optional
//     "users": [{"sub": "...", "name": "...", "email": "...", "email_verified": true,
//                "groups": ["..."]}]
//   }
//
// Login: the interaction route logs in the user named by the authorization request's
// `login_hint` (matched against `sub`, then `email`) and grants consent for everything asked.
// Without `login_hint` it shows a page with one button per user (`Log in as <name>`).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: opts, positionals } = parseArgs({
  options: { port: { type: 'string' } },
  allowPositionals: true,
});
const configPath = positionals[0] ?? process.env.IDP_CONFIG;
if (!configPath) {
  process.stderr.write('usage: node server.mjs CONFIG.json [--port N]\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const port = Number(opts.port ?? process.env.IDP_PORT ?? config.port ?? 0);
const host = process.env.IDP_HOST ?? '127.0.0.1';
const publicIssuer = process.env.IDP_ISSUER;

const jwks = JSON.parse(readFileSync(new URL('./jwks.json', import.meta.url), 'utf8'));
const apiAudience = config.api_audience ?? 'urn:vangnet:api';
const apiScopes = (config.api_scopes ?? ['vangnet']).join(' ');
const users = config.users ?? [];
const usersBySub = new Map(users.map((u) => [u.sub, u]));

function findUser(hint) {
  if (!hint) return undefined;
  return usersBySub.get(hint) ?? users.find((u) => u.email && u.email === hint);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

const clients = (config.clients ?? []).map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: c.redirect_uris,
  post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
  token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}));

const server = http.createServer();
server.listen(port, host, () => {
  const issuer = publicIssuer ?? `http://${host}:${server.address().port}`;

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: jwks.keys },
    cookies: {
      // Fixed test keys, so runs are repeatable. Not secret.
      keys: ['vangnet-e2e-cookie-key-1-not-secret', 'vangnet-e2e-cookie-key-2-not-secret'],
    },
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    // Custom claims (groups, ...) in the ID token even when an access token is issued too.
    conformIdTokenClaims: false,
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    async findAccount(_ctx, sub) {
      const user = usersBySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub: user.sub,
            name: user.name,
            email: user.email,
            email_verified: user.email_verified ?? true,
            groups: user.groups ?? [],
          };
        },
      };
    },
    async extraTokenClaims(_ctx, token) {
      const user = token.accountId ? usersBySub.get(token.accountId) : undefined;
      if (!user) return undefined;
      return { groups: user.groups ?? [], email: user.email, name: user.name };
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9207 `iss` in the authorization response is always on in oidc-provider 9 (discovery
      // says authorization_response_iss_parameter_supported: true); there is no switch for it.
      resourceIndicators: {
        enabled: true,
        // No `resource` in the authorization request: the API is the resource anyway.
        async defaultResource(_ctx, _client, oneOf) {
          return oneOf ?? apiAudience;
        },
        // No `resource` at the token endpoint: the access token is for the granted resource
        // (the API), not an opaque userinfo token.
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== apiAudience) {
            throw new Provider.errors.InvalidTarget();
          }
          return {
            scope: apiScopes,
            audience: apiAudience,
            accessTokenTTL: 60 * 60,
            accessTokenFormat: 'jwt', // RFC 9068: typ at+jwt
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          // Confirms the logout (also at the OP) by itself; the button is there without JS.
          ctx.type = 'html';
          ctx.body = page(
            'Sign out',
            `${form}
<button id="logout-yes" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<script>
  const f = document.getElementById('op.logoutForm');
  const i = document.createElement('input');
  i.type = 'hidden'; i.name = 'logout'; i.value = 'yes';
  f.appendChild(i); f.submit();
</script>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p>You are signed out of the test identity provider.</p>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'Identity provider error',
        `<pre id="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</pre>`,
      );
    },
  });
  // Behind the staging proxy: believe its X-Forwarded-Proto/-Host (it is the only way in).
  provider.proxy = Boolean(publicIssuer);
  provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));

  const oidc = provider.callback();

  async function readForm(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  async function finishLogin(req, res, sub) {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: sub } },
      { mergeWithLastSubmission: false },
    );
  }

  async function grantConsent(req, res, details) {
    const { prompt, grantId, session, params } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true },
    );
  }

  async function interaction(req, res, uid, action) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction uid mismatch');
    const { prompt, params } = details;

    if (prompt.name === 'login') {
      if (action === 'login' && req.method === 'POST') {
        const form = await readForm(req);
        const user = findUser(form.get('login'));
        if (!user) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown test user');
          return;
        }
        await finishLogin(req, res, user.sub);
        return;
      }
      if (params.login_hint) {
        const user = findUser(params.login_hint);
        if (!user) {
          await provider.interactionFinished(
            req,
            res,
            { error: 'access_denied', error_description: 'login_hint names no test user' },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        await finishLogin(req, res, user.sub);
        return;
      }
      const buttons = users
        .map(
          (u) => `<p><button type="submit" name="login" value="${esc(u.sub)}">` +
            `Log in as ${esc(u.name)}</button></p>`,
        )
        .join('\n');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page('Test identity provider',
        `<form method="post" action="/interaction/${esc(uid)}/login">${buttons}</form>`));
      return;
    }
    if (prompt.name === 'consent') {
      await grantConsent(req, res, details);
      return;
    }
    throw new Error(`unexpected prompt ${prompt.name}`);
  }

  server.on('request', (req, res) => {
    const m = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(new URL(req.url, issuer).pathname);
    if (!m) {
      oidc(req, res);
      return;
    }
    interaction(req, res, m[1], m[2]).catch((err) => {
      process.stderr.write(`interaction error: ${err.stack}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`interaction error: ${err.message}`);
    });
  });

  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
