/** Dependencies, types and small helpers shared by the billing alert files (settings, evaluation, delivery). */
import type { Logger } from "pino";
import type { Db } from "../../platform/db/db.js";
import type { SecretBox } from "../../platform/secretbox.js";
import type { Notifier } from "./alerts.notifier.js";
import type { AlertEvent } from "./alerts.schema.js";

export interface AlertServiceDeps {
  db: Db;
  box: SecretBox;
  notifier: Notifier;
  publicUrl: string;
  allowedHosts: readonly string[];
  log: Logger;
  now?: () => Date;
  /** false with TOLLGATE_BILLING=off: there is no prepaid balance, so no low-balance alert (default true). */
  credits?: boolean;
}

export type Org = { id: string; slug: string; name: string };
export type Fired = {
  event: AlertEvent | "test";
  period: string;
  balance?: bigint;
  threshold?: bigint;
  spend?: bigint;
  budget?: bigint;
  percent?: bigint;
};

export const sealContext = (orgId: string) => `billing-alert-webhook:${orgId}`;
