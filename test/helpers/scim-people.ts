/**
 * What a person does around SCIM provisioning, through the app's real HTTP
 * routes and the loopback SMTP server: proves their address with the emailed
 * link, sets a first password (a provisioned account has none) and signs in,
 * creates an API key in a project of the organization, and calls the gateway
 * with it (its status tells whether the key still works).
 */
import { expect } from "vitest";
import { Client, type TestApp } from "./app.js";
import type { TestSmtp } from "./smtp.js";

/** The address's owner proves it with the emailed verification link. */
export async function verifyEmail(t: TestApp, smtp: TestSmtp, email: string): Promise<void> {
  const browser = new Client(t.app);
  const sent = await browser.post("/api/auth/send-verification-email", { email });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  const link = /\/verify-email\?token=([A-Za-z0-9_.%-]+)/.exec((await smtp.waitFor(email)).text ?? "");
  expect((await browser.get(`/api/auth/verify-email?token=${link![1]}`)).status).toBeLessThan(400);
}

/** A provisioned person (no password yet) sets one through the reset link and signs in. */
export async function signInProvisioned(t: TestApp, smtp: TestSmtp, email: string): Promise<Client> {
  const browser = new Client(t.app);
  expect((await browser.post("/api/auth/request-password-reset", { email })).status).toBe(200);
  const link = /\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec((await smtp.waitFor(email)).text ?? "");
  const newPassword = "provisioned person passphrase";
  const reset = await browser.post("/api/auth/reset-password", { token: decodeURIComponent(link![1]!), newPassword });
  expect(reset.status).toBe(200);
  return t.signIn(email, newPassword);
}

let projects = 0;
/** A test key `person` creates in a new project of the org (the owner assigns them to it). */
export async function keyOf(owner: Client, person: Client, slug: string): Promise<string> {
  const project = `proj-${++projects}`;
  expect((await owner.post(`/api/v1/orgs/${slug}/projects`, { name: project, slug: project })).status).toBe(201);
  const assigned = await owner.put(`/api/v1/orgs/${slug}/projects/${project}/members`, {
    userIds: [person.user!.id],
  });
  expect(assigned.status).toBe(200);
  const key = await person.post(`/api/v1/orgs/${slug}/projects/${project}/keys`, {
    name: "laptop",
    environment: "test",
  });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  return key.body.key as string;
}

/** The gateway's status for a chat completion with `key` (200 works, 401 refused). */
export const gatewayStatus = async (t: TestApp, key: string): Promise<number> =>
  (
    await t.app.server.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      payload: JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hello" }] }),
    })
  ).statusCode;
