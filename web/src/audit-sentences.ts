/**
 * Audit entries as sentences: "Alice Owner changed Bob Member's role from member to admin". One
 * builder per action the server records (the record's type makes a missing one a type error), a
 * generic sentence for any other. A sentence is a list of parts: plain text, and names (a person,
 * a key, a project) shown emphasised with a hint (an email, an id) as their tooltip.
 */
import { AUDIT_ACTION_LABELS, type AuditAction } from "../../src/modules/audit/audit.actions";
import type { AuditLogEntry, Person } from "./api-audit";
import { usd } from "./format";

export type Part = string | { text: string; hint?: string };

interface Ctx {
  /** The actor: a person by name (email as hint), an API token, the system or Stripe. */
  who: Part;
  /** The target by name where the entry has one, else its type and id. */
  target: Part;
  /** The entry's project by name (the slug recorded when it is gone). */
  project: Part;
  /** A metadata value as text ("" when absent). */
  s(key: string): string;
  /** A metadata name in quotes: “ci”. */
  q(key: string): Part;
  /** A person by user id (their email, then the id, when the account is gone). */
  person(id: unknown, email?: unknown): Part;
  /** A metadata amount (`<key>MicroUsd`) in dollars. */
  money(key: string): string;
  m: Record<string, unknown>;
}
type Builder = (c: Ctx) => Part[];

const text = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "";
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(text).filter(Boolean) : []);
/** camelCase and snake_case field names as words. */
export const words = (field: string) =>
  field
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/_/g, " ")
    .toLowerCase();
const fieldsOf = (changes: unknown) =>
  changes && typeof changes === "object" ? Object.keys(changes).map(words).join(", ") : "";
const note = (c: Ctx) => (c.s("note") ? ` (“${c.s("note")}”)` : "");
const card = (c: Ctx) => `${c.s("brand") ? `${c.s("brand")} card` : "card"} •••• ${c.s("last4") || "????"}`;
const via = (c: Ctx) =>
  c.s("via") === "scim" ? "SCIM provisioning" : c.s("via") === "sso" ? "single sign-on" : c.s("via");
const revokedBecause = (c: Ctx) =>
  c.s("reason") === "member_removed"
    ? " (its creator was removed from the organization)"
    : c.s("reason") === "project_access_removed"
      ? " (its creator lost access to the project)"
      : "";

/** People added to / removed from a project's assignments, by name. */
function assignments(c: Ctx): Part[] {
  const out: Part[] = [];
  for (const [key, verb] of [
    ["added", "added"],
    ["removed", "removed"],
  ] as const) {
    const ids = list(c.m[key]);
    if (ids.length === 0) continue;
    out.push(out.length ? "; " : ": ", `${verb} `);
    for (const [i, id] of ids.entries()) out.push(...(i ? [", ", c.person(id)] : [c.person(id)]));
  }
  return out;
}

const SENTENCES: Record<AuditAction, Builder> = {
  "org.created": (c) => [c.who, " created the organization ", c.q("name")],
  "org.updated": (c) => [c.who, " updated the organization's ", fieldsOf(c.m.changes) || "settings"],
  "org.deleted": (c) => [c.who, " deleted the organization ", c.s("slug")],
  "org.disabled": (c) => [c.who, " disabled the organization", c.s("reason") ? `: ${c.s("reason")}` : ""],
  "org.enabled": (c) => [c.who, " re-enabled the organization"],
  "org.two_factor_required": (c) => [c.who, " required two-factor authentication for every member"],
  "org.two_factor_not_required": (c) => [c.who, " stopped requiring two-factor authentication"],
  "org.ownership_transferred": (c) => [
    c.who,
    " transferred ownership of the organization to ",
    c.person(c.m.to, c.m.toEmail),
  ],
  "member.role_changed": (c) => [c.who, " changed ", c.target, `'s role from ${c.s("from")} to ${c.s("to")}`],
  "member.removed": (c) => [
    c.who,
    " removed ",
    c.target,
    " from the organization",
    c.s("via") ? ` (deprovisioned through ${via(c)})` : c.m.keepKeys === true ? " (their API keys stay)" : "",
  ],
  "member.left": (c) => [c.who, " left the organization"],
  "member.joined": (c) => [c.who, ` joined as ${c.s("role")} through ${via(c)}`],
  "invitation.created": (c) => [c.who, " invited ", { text: c.s("email") }, ` as ${c.s("role")}`],
  "invitation.resent": (c) => [c.who, " resent the invitation to ", { text: c.s("email") }],
  "invitation.revoked": (c) => [c.who, " revoked the invitation of ", { text: c.s("email") }],
  "invitation.accepted": (c) => [c.who, ` accepted the invitation and joined as ${c.s("role")}`],
  "invitation.declined": (c) => [c.who, ` declined the invitation to join as ${c.s("role")}`],
  "project.created": (c) => [c.who, " created the project ", c.project],
  "project.updated": (c) => [c.who, ` changed the ${fieldsOf(c.m.changes) || "settings"} of project `, c.project],
  "project.deleted": (c) => [c.who, " deleted the project ", c.q("name")],
  "project.members_updated": (c) => [c.who, " changed who is assigned to project ", c.project, ...assignments(c)],
  "key.created": (c) => [c.who, " created the API key ", c.q("name"), " in project ", c.project],
  "key.updated": (c) => [c.who, " changed the API key ", c.q("name"), " in project ", c.project],
  "key.revoked": (c) => [c.who, " revoked the API key ", c.q("name"), " in project ", c.project, revokedBecause(c)],
  "api_token.created": (c) => [
    c.who,
    " created the organization API token ",
    c.q("name"),
    ` with the ${c.s("role")} role`,
  ],
  "api_token.revoked": (c) => [c.who, " revoked the organization API token ", c.q("name"), revokedBecause(c)],
  "provider.created": (c) => [c.who, " added the provider ", { text: c.s("slug") }],
  "provider.updated": (c) => [
    c.who,
    " updated the provider ",
    { text: c.s("slug") },
    list(c.m.changed).length ? ` (${list(c.m.changed).map(words).join(", ")})` : "",
  ],
  "provider.deleted": (c) => [c.who, " deleted the provider ", { text: c.s("slug") }],
  "provider.models_discovered": (c) => [
    c.who,
    " listed the models of provider ",
    { text: c.s("slug") },
    ` (${c.s("count") || 0} found)`,
  ],
  "virtual_model.created": (c) => [c.who, " created the virtual model ", c.q("name")],
  "virtual_model.updated": (c) => [c.who, " changed the virtual model ", c.q("name")],
  "virtual_model.deleted": (c) => [c.who, " deleted the virtual model ", c.q("name")],
  "security_policy.updated": (c) => [c.who, " set the security policy of the organization"],
  "project_security_policy.updated": (c) => [c.who, " set the security policy override of project ", c.project],
  "incident.reviewed": (c) => [c.who, " reviewed a security incident", c.m.hasNote === true ? " with a note" : ""],
  "log_destination.created": (c) => [c.who, ` added a ${c.s("kind")} log destination (${c.s("host")})`],
  "log_destination.updated": (c) => [
    c.who,
    ` ${c.m.enabled === false ? "paused" : "resumed"} the ${c.s("kind")} log destination (${c.s("host")})`,
  ],
  "log_destination.deleted": (c) => [c.who, ` deleted the ${c.s("kind")} log destination (${c.s("host")})`],
  "sso.configured": (c) => [
    c.who,
    " configured single sign-on",
    list(c.m.domains).length ? ` for ${list(c.m.domains).join(", ")}` : "",
  ],
  "sso.removed": (c) => [c.who, " removed single sign-on"],
  "sso.domain_verified": (c) => [c.who, " verified the domain ", { text: c.s("domain") }],
  "scim.enabled": (c) => [c.who, " turned on SCIM provisioning"],
  "scim.token_rotated": (c) => [c.who, " rotated the SCIM token"],
  "scim.disabled": (c) => [c.who, " turned off SCIM provisioning"],
  "billing.topup": (c) => [c.who, ` added ${c.money("amount")} in credits`],
  "billing.grant": (c) => [c.who, ` granted ${c.money("amount")} in credits${note(c)}`],
  "billing.refund": (c) => [c.who, ` recorded a refund of ${c.money("amount").replace("-", "")}`],
  "billing.adjustment": (c) => [c.who, ` adjusted the balance by ${c.money("amount")}${note(c)}`],
  "billing.checkout_created": (c) => [c.who, ` started a checkout for ${c.money("amount")}`],
  "billing.checkout_expired": (c) => [c.who, ` reported that a checkout for ${c.money("amount")} expired`],
  "billing.payment_failed": (c) => [c.who, ` reported a failed payment of ${c.money("amount")}`],
  "billing.payment_mismatch": (c) => [c.who, " reported a payment that does not match its checkout (not credited)"],
  "billing.dispute_closed": (c) => [c.who, ` reported a payment dispute closed as ${c.s("status")}`],
  "billing.payment_method_setup_started": (c) => [c.who, " started adding a payment method"],
  "billing.payment_method_added": (c) => [c.who, " confirmed a new payment method"],
  "billing.payment_method_removed": (c) => [c.who, ` removed the ${card(c)}`],
  "billing.payment_method_default_set": (c) => [c.who, ` made the ${card(c)} the default payment method`],
  "billing.auto_topup_updated": (c) => [
    c.who,
    c.m.enabled === true
      ? ` turned auto top-up on (add ${c.money("amount")} below ${c.money("threshold")})`
      : " turned auto top-up off",
  ],
  "billing.auto_topup_charged": (c) => [c.who, ` charged an auto top-up of ${c.money("amount")}`],
  "billing.auto_topup_failed": (c) => [
    c.who,
    " reported that an auto top-up failed",
    c.s("reason") ? `: ${c.s("reason")}` : "",
  ],
  "billing.alerts_updated": (c) => [c.who, " changed the billing alerts"],
  "billing.alerts_subscribed": (c) => [c.who, " turned billing alert emails on for themself"],
  "billing.alerts_unsubscribed": (c) => [c.who, " turned billing alert emails off for themself"],
};

/** The acting person, token or system. */
function actorPart(e: AuditLogEntry, people: Record<string, Person>): Part {
  const a = e.actor;
  if (a.token)
    return { text: `API token “${a.token.name ?? a.token.id}”`, hint: `Organization API token ${a.token.id}` };
  if (a.userId) {
    const p = people[a.userId];
    return p ? { text: p.name, hint: p.email } : { text: a.email ?? a.userId, hint: a.userId };
  }
  if (a.email === "stripe") return { text: "Stripe", hint: "Stripe's webhook or a payment" };
  return { text: "Tollgate", hint: "The instance itself or its operator (system)" };
}

export function sentence(e: AuditLogEntry, people: Record<string, Person>): Part[] {
  const m = e.metadata;
  const person = (id: unknown, email?: unknown): Part => {
    const p = typeof id === "string" ? people[id] : undefined;
    if (p) return { text: p.name, hint: p.email };
    return { text: text(email) || text(id) || "someone" };
  };
  const projectName = e.project?.name ?? e.project?.slug ?? text(m.name);
  const ctx: Ctx = {
    m,
    who: actorPart(e, people),
    target:
      e.targetType === "member" || e.targetType === "user"
        ? person(e.targetId, m.email)
        : { text: e.targetName ?? (text(m.name) || `${e.targetType} ${e.targetId ?? ""}`.trim()) },
    project: { text: projectName || "(unknown)", hint: e.project?.slug ?? undefined },
    s: (key) => text(m[key]),
    q: (key) => ({ text: `“${text(m[key]) || text((m.after as Record<string, unknown> | undefined)?.[key])}”` }),
    person,
    money: (key) => {
      const micro = m[`${key}MicroUsd`];
      return typeof micro === "string" && /^-?\d+$/.test(micro) ? usd(micro) : "an amount";
    },
  };
  const build = SENTENCES[e.action as AuditAction] as Builder | undefined;
  if (build) return build(ctx).filter((p) => p !== "");
  return [ctx.who, " did ", { text: e.action }, " on ", ctx.target];
}

/** The actions in words, grouped by area, for the action filter. */
export function actionOptions() {
  const groups = new Map<string, Array<{ value: string; label: string }>>();
  for (const [value, label] of Object.entries(AUDIT_ACTION_LABELS)) {
    const area = AREAS[value.split(".")[0]!] ?? "Other";
    groups.set(area, [...(groups.get(area) ?? []), { value, label }]);
  }
  return [...groups].map(([group, items]) => ({ group, items }));
}

const AREAS: Record<string, string> = {
  org: "Organization",
  member: "Members",
  invitation: "Invitations",
  project: "Projects",
  key: "API keys",
  api_token: "Organization API tokens",
  provider: "Providers",
  virtual_model: "Virtual models",
  security_policy: "Security",
  project_security_policy: "Security",
  incident: "Security",
  log_destination: "Log destinations",
  sso: "Single sign-on and SCIM",
  scim: "Single sign-on and SCIM",
  billing: "Billing",
};
