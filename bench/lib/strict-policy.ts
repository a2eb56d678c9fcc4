/** The strict security policy the benchmarks measure: every PII kind redacted, prompt injection blocked. */
export const REDACT_ALL_PII = {
  email: "redact",
  phone: "redact",
  card: "redact",
  ssn: "redact",
  iban: "redact",
  ip: "redact",
  secret: "redact",
} as const;

/** The strict policy as the API takes it, with one keyword rule. */
export const STRICT_POLICY = {
  pii: REDACT_ALL_PII,
  promptInjection: { action: "block" },
  rules: [{ name: "no codenames", type: "keyword", pattern: "project-bluebird", action: "block" }],
};
