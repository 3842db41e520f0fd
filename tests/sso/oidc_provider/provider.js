// A real OpenID Provider for the SSO tests: oidc-provider on loopback, with the device flow,
// PKCE required, test people carrying a `groups` claim, and plain login/consent pages that a
// test drives like a person in a browser (tests/sso/oidc_browser.py).
//
// Usage: node provider.js CONFIG.json   (prints one line `ready <issuer>` once listening)
// CONFIG: { "clients": [client metadata...], "users": {"sub": {"email", "name", "groups",
//           "password"}}, "short_lived": {"<client_id>": {"DeviceCode": s, "IdToken": s}} }
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = config.users;
const shortLived = config.short_lived || {};

function html(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `test-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };
}

function ttl(kind, fallback) {
  return (ctx, token, client) => {
    const custom = client && shortLived[client.clientId];
    return (custom && custom[kind]) || fallback;
  };
}

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  async findAccount(ctx, sub) {
    const user = users[sub];
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: user.email, email_verified: true, name: user.name, groups: user.groups };
      },
    };
  },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    DeviceCode: ttl('DeviceCode', 600),
    IdToken: ttl('IdToken', 600),
  },
});

function loginPage(res, uid, message) {
  const note = message ? `<p class="error">${escapeHtml(message)}</p>` : '';
  html(res, 200, 'Sign in', `<h1>Sign in</h1>${note}
    <form method="post" action="/interaction/${uid}/login">
      <input type="text" name="login" placeholder="user">
      <input type="password" name="password" placeholder="password">
      <button type="submit">Sign in</button>
    </form>
    <form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(res, uid, clientId) {
  html(res, 200, 'Allow access', `<h1>Allow ${escapeHtml(clientId)}?</h1>
    <form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
    <form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') return loginPage(res, uid);
    return consentPage(res, uid, params.client_id);
  }
  const form = await readForm(req);
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'the person declined the sign-in',
    }, { mergeWithLastSubmission: false });
  }
  if (action === 'login') {
    const sub = form.get('login');
    if (!users[sub] || users[sub].password !== form.get('password')) {
      return loginPage(res, uid, 'Wrong user or password.');
    }
    return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  }
  // consent: grant what the client asked for
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

const handle = provider.callback();
server.on('request', async (req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|confirm|abort))?(?:\?.*)?$/.exec(req.url);
  if (!match) return handle(req, res);
  try {
    return await interaction(req, res, match[1], match[2]);
  } catch (err) {
    return html(res, 400, 'Error', `<p class="error">${escapeHtml(err.message)}</p>`);
  }
});

process.stdout.write(`ready ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
