// A real OpenID Connect provider (oidc-provider 9) for Gatehouse's tests.
// GATEHOUSE_OIDC = {"port": n, "client_id", "client_secret", "redirect_uri"}.
// The protocol (discovery, JWKS, authorization with PKCE and nonce, token,
// ID token signing) is oidc-provider's own; this script only stands in for
// the person at the login screen: POST /_test/next chooses who signs in
// next (or that they deny), POST /_test/rotate replaces the signing key.
// It listens on 127.0.0.1 only and prints {"issuer": ...} when ready.
import http from "node:http";
import crypto from "node:crypto";
import Provider from "oidc-provider";

const cfg = JSON.parse(process.env.GATEHOUSE_OIDC || "{}");
const issuer = `http://127.0.0.1:${cfg.port}`;
let next = { sub: "nobody", deny: false, claims: {} };
let accounts = {};

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  jwk.kid = crypto.randomBytes(8).toString("hex");
  jwk.alg = "RS256";
  jwk.use = "sig";
  return jwk;
}

function newProvider(key) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: cfg.client_id,
      client_secret: cfg.client_secret,
      redirect_uris: [cfg.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "given_name", "family_name"] },
    features: { devInteractions: { enabled: false } },
    findAccount: (ctx, sub) => {
      const claims = accounts[sub];
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...claims }) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // Scope claims go into the ID token, which is what Gatehouse reads.
    conformIdTokenClaims: false,
  });
  provider.on("server_error", (ctx, err) => console.error("server_error", err));
  return provider;
}

let provider = newProvider(newKey());
let keyID = null;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  let result;
  if (next.deny) {
    result = { error: "access_denied", error_description: "End-User aborted interaction" };
  } else if (details.prompt.name === "login") {
    accounts[next.sub] = next.claims;
    result = { login: { accountId: next.sub } };
  } else {
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

function body(req) {
  return new Promise((resolve) => {
    let data = "";
    req.on("data", (c) => { data += c; });
    req.on("end", () => resolve(data ? JSON.parse(data) : {}));
  });
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/_test/next") {
      next = await body(req);
      accounts[next.sub] = next.claims;
      res.end("{}");
    } else if (req.method === "POST" && req.url === "/_test/rotate") {
      const key = newKey();
      provider = newProvider(key);
      keyID = key.kid;
      res.end(JSON.stringify({ kid: keyID }));
    } else if (req.url.startsWith("/interaction/")) {
      await interaction(req, res);
    } else {
      provider.callback()(req, res);
    }
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end(String(err));
  }
});
server.listen(cfg.port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ issuer }) + "\n");
});
