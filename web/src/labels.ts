/**
 * Words the dashboard shows for codes the API returns, the same everywhere:
 * role names ("Owner", "Admin", "Member" — in badges, selects and the
 * organization switcher alike) and the model of requests that never reached
 * one (refused before routing).
 */
import { ASSIGNABLE_ROLES, type Role } from "../../src/platform/permissions";

const ROLE_LABELS: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member" };

export function roleLabel(role: string): string {
  return ROLE_LABELS[role as Role] ?? role.charAt(0).toUpperCase() + role.slice(1);
}

/** Select options for the roles a member can be given (`only` narrows them, e.g. to what the granter may grant). */
export function roleOptions(only: readonly string[] = ASSIGNABLE_ROLES): { value: string; label: string }[] {
  return only.map((value) => ({ value, label: roleLabel(value) }));
}

/** Requests refused before routing (key, limits, policy…) have no model; usage by model groups them under this. */
export const NO_MODEL = "no model (refused before routing)";

/** A usage row's model as shown (`null`: the request never reached one). */
export function modelLabel(model: string | null): string {
  return model === null || model === "" ? NO_MODEL : model;
}
