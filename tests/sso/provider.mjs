// A real OpenID provider on loopback for the tests: panva's oidc-provider (certified), one
// client, development sign-in (any password) and consent granted up front.
// Run: node provider.mjs <oidc-provider module dir> <config.json>
// The config names the port, the client and a people file (login -> email, name, groups),
// read again at every sign-in so a test can change someone's groups at the provider.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [moduleDir, configPath] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(join(moduleDir, "lib/index.js")).href);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const people = () => JSON.parse(readFileSync(config.people, "utf8"));

const issuer = `http://127.0.0.1:${config.port}`;
// A signing key of its own each start, under a new key id: a restarted provider is a provider
// that rotated its keys.
const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
const jwks = { keys: [{ ...signingKey, kid: randomUUID(), use: "sig", alg: "RS256" }] };
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      post_logout_redirect_uris: config.post_logout_redirect_uris,
      token_endpoint_auth_method: config.token_endpoint_auth_method ?? "client_secret_post",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  // Groups ride with the profile scope, as many providers' group mappers do.
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "preferred_username", "groups"],
  },
  cookies: { keys: ["test-provider-cookie-key"] },
  jwks,
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const person = people()[id] ?? {};
        return {
          sub: id, // oidc-provider gives the account id as the subject
          preferred_username: person.username ?? id,
          email: person.email ?? `${id}@example.com`,
          email_verified: true,
          name: person.name ?? id,
          groups: person.groups ?? [],
        };
      },
    };
  },
  // Consent is granted up front: these tests are about the relying party.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});
provider.listen(config.port, "127.0.0.1", () => console.log(`listening ${issuer}`));
