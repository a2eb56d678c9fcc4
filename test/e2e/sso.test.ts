/**
 * Single sign-on in a real browser, against a real OpenID Connect provider (oidc-provider on loopback) and a
 * real DNS server (loopback UDP): the owner configures the connection in Settings → Single sign-on, publishes the
 * TXT record it shows and verifies the domain; a person at that domain signs in from the sign-in page through
 * the identity provider and lands in the dashboard as a member; failed sign-ins are explained; an admin reads the
 * settings without changing them; once SSO is required, a member signed in with a password is sent to sign in
 * with SSO while SSO sessions get through; removing SSO lets the member back in. The steps share one world and
 * run in order.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, PASSWORD } from "../helpers/app.js";
import { type TestDns, startTestDns } from "../helpers/dns-server.js";
import { freePort, type OidcIdp, startOidcIdp } from "../helpers/oidc-idp.js";
import { inviteToken } from "../helpers/smtp.js";
import {
  count,
  type E2E,
  exactText,
  HAS_CHROMIUM,
  hasText,
  newPage,
  SKIP_REASON,
  startE2E,
  value,
  visible,
} from "./browser.js";

if (!HAS_CHROMIUM) console.warn(SKIP_REASON);

const stamp = Date.now().toString(36);
const DOMAIN = `acme-${stamp}.test`;
const ORG = "Acme Federated";
const OWNER = { name: "Olga Owner", email: `olga-${stamp}@example.com` };
const ADMIN = { name: "Adam Admin", email: `adam-${stamp}@example.com` };
const MEMBER = { name: "Mia Member", email: `mia-${stamp}@example.com` };
const SSO_PERSON = { sub: `sam-${stamp}`, email: `sam@${DOMAIN}`, name: "Sam Single" };

describe.skipIf(!HAS_CHROMIUM)("single sign-on in the dashboard", { timeout: 120_000 }, () => {
  let e: E2E;
  let dns: TestDns;
  let idp: OidcIdp;
  let idpPort = 0;
  let slug = "";
  let orgId = "";
  let owner: Page;
  let ssoPerson: Page;

  const url = (p: string) => `${e.origin}${p}`;

  async function passwordSignIn(p: Page, email: string, next = "/") {
    await p.goto(url(`/sign-in?next=${encodeURIComponent(next)}`));
    await p.getByLabel("Email").fill(email);
    await p.getByRole("textbox", { name: "Password" }).fill(PASSWORD);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
  }

  /** Cookie-authenticated API calls must carry the dashboard's Origin (the CSRF guard). */
  const post = (c: Client, path: string, body?: unknown) => c.post(path, body ?? {}, { origin: e.origin });

  async function join(who: { name: string; email: string }, role: "admin" | "member", by: Client) {
    const c = await e.t.signUp({ ...who, password: PASSWORD });
    const inv = await post(by, `/api/v1/orgs/${slug}/invitations`, { email: who.email, role });
    expect(inv.status, JSON.stringify(inv.body)).toBe(201);
    const accepted = await post(c, `/api/v1/invitations/${inviteToken(await e.smtp.waitFor(who.email))}/accept`);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
  }

  beforeAll(async () => {
    dns = await startTestDns();
    idpPort = await freePort();
    e = await startE2E({
      env: { TOLLGATE_SSO_TRUSTED_ORIGINS: `http://127.0.0.1:${idpPort}`, TOLLGATE_DNS_SERVERS: dns.address },
    });
    const ownerApi = await e.t.signUp({ ...OWNER, password: PASSWORD });
    const created = await post(ownerApi, "/api/v1/orgs", { name: ORG });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    ({ slug, id: orgId } = created.body);
    await join(ADMIN, "admin", ownerApi);
    await join(MEMBER, "member", ownerApi);
    // The redirect URI is the organization's, so the IdP starts once the organization exists.
    idp = await startOidcIdp({ port: idpPort, redirectUris: [url(`/api/auth/sso/callback/${orgId}-oidc`)] });
    owner = await newPage(e);
  }, 120_000);

  afterAll(async () => {
    await e?.close();
    await idp?.close();
    await dns?.close();
  }, 120_000);

  it("the owner connects OIDC in Settings → Single sign-on and verifies the domain with its DNS record", async () => {
    await passwordSignIn(owner, OWNER.email, `/${slug}`);
    await owner.getByRole("link", { name: "Single sign-on" }).click();
    await visible(owner.getByRole("heading", { name: "Single sign-on", exact: true }));
    await visible(owner.getByTestId("sso-domains-empty"));

    const domains = owner.getByRole("combobox", { name: "Email domains" });
    await domains.fill(DOMAIN);
    await domains.press("Enter");
    await owner.getByRole("switch", { name: "Use OpenID Connect" }).check();
    await owner.getByRole("textbox", { name: "Issuer URL" }).fill(idp.issuer);
    await owner.getByRole("textbox", { name: "Client id" }).fill(idp.clientId);
    await owner.getByRole("textbox", { name: "Client secret" }).fill(idp.clientSecret);
    await owner.getByRole("button", { name: "Save" }).click();

    const row = owner.getByTestId(`sso-domain-${DOMAIN}`);
    await visible(row.getByText("Not verified", { exact: true }));
    await exactText(owner.getByTestId("oidc-redirect-uri"), url(`/api/auth/sso/callback/${orgId}-oidc`));
    await value(owner.getByRole("textbox", { name: "Client secret" }), "");
    await value(owner.getByRole("textbox", { name: "Discovery URL" }), "");
    await value(owner.getByRole("textbox", { name: "Issuer URL" }), idp.issuer);
    expect(await owner.getByRole("textbox", { name: "Client secret" }).getAttribute("placeholder")).toBe(
      "stored — leave empty to keep",
    );

    // Requiring SSO before the domain is proven would lock everyone but the owner out: refused, said why.
    await owner.getByRole("switch", { name: "Require SSO" }).check();
    await owner.getByRole("button", { name: "Save" }).click();
    await hasText(owner.getByRole("alert"), "Requiring SSO needs a connection and a verified domain first");
    await owner.getByRole("switch", { name: "Require SSO" }).uncheck();
    await count(owner.getByTestId("sso-error"), 0);

    // Verify before the record exists: the server's explanation, next to the domain.
    await row.getByRole("button", { name: `Verify ${DOMAIN}` }).click();
    await hasText(row.getByRole("alert"), `No TXT record found at _tollgate-verification.${DOMAIN}`);

    const record = (await owner.getByTestId("txt-record-name").textContent())?.trim() ?? "";
    const token = (await owner.getByTestId("txt-record-value").textContent())?.trim() ?? "";
    expect(record).toBe(`_tollgate-verification.${DOMAIN}`);
    expect(token).not.toBe("");
    dns.setTxt(record, [token]);
    await row.getByRole("button", { name: `Verify ${DOMAIN}` }).click();
    await visible(row.getByText("Verified", { exact: true }));
    await count(owner.getByTestId("txt-record-name"), 0);
  });

  it("a person at the domain signs in with SSO from the sign-in page and joins as a member", async () => {
    ssoPerson = await newPage(e);
    const visited: string[] = [];
    // Every hop of the redirect chain, the identity provider's included (they never render a page).
    ssoPerson.on("request", (r) => {
      if (r.isNavigationRequest()) visited.push(r.url());
    });
    await ssoPerson.goto(url("/sign-in"));
    await ssoPerson.getByRole("link", { name: "Sign in with SSO" }).click();
    await ssoPerson.waitForURL((u) => u.pathname === "/sign-in/sso");
    await ssoPerson.getByRole("textbox", { name: "Work email" }).fill(SSO_PERSON.email);
    idp.signInAs(SSO_PERSON);
    await ssoPerson.getByRole("button", { name: "Continue" }).click();

    // Through the identity provider (it signs in at once) and back, signed in.
    await ssoPerson.waitForURL(
      (u) => u.origin === e.origin && u.pathname !== "/" && !u.pathname.startsWith("/sign-in"),
    );
    expect(visited.some((v) => v.startsWith(`${idp.issuer}/`))).toBe(true);
    await visible(ssoPerson.getByTestId("org-switcher"));
    await ssoPerson.getByTestId("org-switcher").click();
    const entry = ssoPerson.getByRole("menuitem", { name: new RegExp(`^${ORG}`) });
    await hasText(entry, "Member");
    await entry.click();
    await hasText(ssoPerson.getByTestId("org-switcher"), ORG);
    expect(new URL(ssoPerson.url()).pathname).toBe(`/${slug}`);
    const session = await ssoPerson.evaluate(() => fetch("/api/auth/get-session").then((r) => r.json()));
    expect(session.user).toMatchObject({ email: SSO_PERSON.email, emailVerified: true });
  });

  it("explains failed SSO sign-ins: an address outside the domains, a domain without SSO", async () => {
    const p = await newPage(e);
    idp.signInAs({ sub: `outsider-${stamp}`, email: `outsider-${stamp}@example.com` });
    await p.goto(url(`/sign-in/sso?email=${encodeURIComponent(`someone@${DOMAIN}`)}`));
    await value(p.getByRole("textbox", { name: "Work email" }), `someone@${DOMAIN}`);
    await p.getByRole("button", { name: "Continue" }).click();
    await p.waitForURL((u) => u.origin === e.origin && u.searchParams.has("error"));
    expect(new URL(p.url()).pathname).toBe("/sign-in/sso");
    await exactText(
      p.getByRole("alert"),
      "Your identity provider signed you in as an address outside this organization's domains.",
    );

    await p.getByRole("textbox", { name: "Work email" }).fill(`someone@elsewhere-${stamp}.test`);
    await p.getByRole("button", { name: "Continue" }).click();
    await exactText(
      p.getByRole("alert"),
      "No single sign-on is set up for this email's domain. Sign in with your password.",
    );
    expect(new URL(p.url()).pathname).toBe("/sign-in/sso");
  });

  it("an admin reads the single sign-on settings but cannot change them", async () => {
    const p = await newPage(e);
    await passwordSignIn(p, ADMIN.email, `/${slug}/settings/sso`);
    const row = p.getByTestId(`sso-domain-${DOMAIN}`);
    await visible(row.getByText("Verified", { exact: true }));
    await visible(p.getByText("Only the owner can change single sign-on."));
    await count(p.getByRole("button", { name: "Save" }), 0);
    await count(p.getByRole("button", { name: "Remove SSO" }), 0);
    expect(await p.getByRole("textbox", { name: "Issuer URL" }).isDisabled()).toBe(true);
    await value(p.getByRole("textbox", { name: "Issuer URL" }), idp.issuer);
    await p.context().close();
  });

  it("with Require SSO on, a member signed in with a password is sent to sign in with SSO", async () => {
    await owner.getByRole("switch", { name: "Require SSO" }).check();
    await owner.getByRole("button", { name: "Save" }).click();
    await visible(owner.getByText("Single sign-on saved."));
    // The owner keeps access with a password session.
    await owner.getByRole("link", { name: "Projects" }).click();
    await visible(owner.getByRole("heading", { name: "Projects", exact: true }));

    const member = await newPage(e);
    await passwordSignIn(member, MEMBER.email, `/${slug}`);
    const screen = member.getByTestId("sso-required");
    await exactText(screen.getByRole("heading"), `${ORG} requires single sign-on`);
    await screen.getByRole("link", { name: "Sign in with SSO" }).click();
    await member.waitForURL((u) => u.pathname === "/sign-in/sso");
    const target = new URL(member.url());
    expect(target.searchParams.get("next")).toBe(`/${slug}`);
    await value(member.getByRole("textbox", { name: "Work email" }), MEMBER.email);

    // A session that comes through the identity provider reaches it, back on the page it set out from.
    const again = await newPage(e);
    await again.goto(url(`/${slug}/settings/team`));
    await again.waitForURL((u) => u.pathname === "/sign-in");
    await again.getByRole("link", { name: "Sign in with SSO" }).click();
    await again.getByRole("textbox", { name: "Work email" }).fill(SSO_PERSON.email);
    idp.signInAs(SSO_PERSON);
    await again.getByRole("button", { name: "Continue" }).click();
    await again.waitForURL((u) => u.origin === e.origin && u.pathname === `/${slug}/settings/team`);
    await visible(again.getByRole("heading", { name: "Team", exact: true }));
    await count(again.getByTestId("sso-required"), 0);
    await again.context().close();

    // So does the session from the first SSO sign-in.
    await ssoPerson.goto(url(`/${slug}`));
    await visible(ssoPerson.getByRole("heading", { name: "Projects", exact: true }));
  });

  it("removing SSO (after confirming) lets members with passwords back in", async () => {
    await owner.getByRole("link", { name: "Single sign-on" }).click();
    await owner.getByRole("button", { name: "Remove SSO" }).click();
    const dialog = owner.getByRole("dialog", { name: "Remove single sign-on" });
    await dialog.getByRole("button", { name: "Remove" }).click();
    await visible(owner.getByText("Single sign-on removed. Members sign in with their passwords."));
    await visible(owner.getByTestId("sso-domains-empty"));
    expect(await owner.getByRole("switch", { name: "Require SSO" }).isChecked()).toBe(false);
    await count(owner.getByRole("button", { name: "Remove SSO" }), 0);

    const member = await newPage(e);
    await passwordSignIn(member, MEMBER.email, `/${slug}`);
    await visible(member.getByRole("heading", { name: "Projects", exact: true }));
    await count(member.getByTestId("sso-required"), 0);
  });
});
