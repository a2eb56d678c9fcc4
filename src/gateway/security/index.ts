/**
 * Public surface of the in-process security scanning library.
 * Invariant: pure code — no I/O, no database, no HTTP; the caller loads the
 * org policy and project override, builds the scanner and records findings.
 */
export {
  createPolicyScanner,
  policyViolation,
  type PolicyScanner,
} from "./scanner.js";
export {
  effectivePolicy,
  loosenings,
  orgPolicySchema,
  projectOverrideSchema,
  type EffectivePolicy,
  type OrgPolicy,
  type ProjectOverride,
} from "./policy.js";
export { injectionDetector } from "./injection.js";
export { ruleDetector, type ContentRule } from "./rules.js";
export { PII_DETECTORS } from "./pii/index.js";
export type { Detector, Finding, Match, RestoreMap } from "./types.js";
