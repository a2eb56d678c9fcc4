/**
 * The control plane's error catalogue: every UPPER_SNAKE code the API answers
 * with, its one HTTP status and, where the message does not depend on the
 * request, its default message. Codes are part of the API: clients (the
 * dashboard among them) match on them, so a code is never renamed or given
 * another status. Errors are raised with `appError(code, …)` (`errors.ts`),
 * which takes the status from here; the dashboard imports `ApiErrorCode`.
 *
 * `relayed` marks the two fallbacks whose status is not ours: `BAD_REQUEST`
 * carries the status of a framework 4xx error, `AUTH_ERROR` the status of an
 * auth-library error that had no code. Their `status` is the usual one.
 *
 * Data only (no runtime imports): the dashboard bundles the permission table,
 * which reaches this file.
 */
import type { APIErrorCode } from "better-auth";

export interface ErrorSpec {
  status: number;
  message?: string;
  relayed?: true;
}

export const ERROR_CATALOGUE = {
  // Requests (platform/http.ts, the 404 handlers)
  VALIDATION_ERROR: { status: 400, message: "Invalid request." },
  INVALID_JSON: { status: 400, message: "The body is not valid JSON." },
  INVALID_CONTENT_LENGTH: { status: 400, message: "Content-Length does not match the body." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Send the body as application/json." },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large." },
  BAD_REQUEST: { status: 400, message: "Bad request.", relayed: true },
  ROUTE_NOT_FOUND: { status: 404 },
  CSRF_REJECTED: { status: 403, message: "Cross-site requests are not allowed." },
  INTERNAL_ERROR: {
    status: 500,
    message: "Something went wrong on our side. The error was logged with this request id.",
  },
  SECRET_UNREADABLE: { status: 500, message: "A stored secret could not be read." },

  // Sessions, the auth guard and the permission table
  UNAUTHENTICATED: { status: 401, message: "Sign in to continue." },
  FORBIDDEN: { status: 403 },
  TOO_MANY_ATTEMPTS: { status: 429 },
  AUTH_ERROR: { status: 400, message: "Authentication failed.", relayed: true },
  USER_NOT_FOUND: { status: 404, message: "Your account no longer exists." },
  API_TOKEN_INVALID: {
    status: 401,
    message:
      "The API token is not valid: check that it was copied whole, or have an owner or admin mint a new one (organization settings → API tokens).",
  },
  API_TOKEN_REVOKED: {
    status: 401,
    message: "The API token was revoked: have an owner or admin mint a new one (organization settings → API tokens).",
  },
  API_TOKEN_EXPIRED: {
    status: 401,
    message: "The API token has expired: have an owner or admin mint a new one (organization settings → API tokens).",
  },
  API_TOKEN_FORBIDDEN: { status: 403 },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    message: "Verify your email address first: follow the link we sent you, or ask for a new one.",
  },
  SIGNUP_INVITE_ONLY: {
    status: 403,
    message: "Sign-up on this instance is by invitation only. Ask an organization admin to invite you.",
  },
  SIGNUP_DOMAIN_NOT_ALLOWED: { status: 403 },

  // Organizations and members
  ORG_NOT_FOUND: { status: 404, message: "This organization no longer exists." },
  SLUG_TAKEN: { status: 409 },
  CONFIRMATION_MISMATCH: { status: 400 },
  ALREADY_OWNER: { status: 400, message: "You already own this organization." },
  MEMBER_NOT_FOUND: { status: 404, message: "No such member in this organization." },
  OWNER_ROLE_LOCKED: { status: 409, message: "The owner's role changes only by transferring ownership." },
  OWNER_CANNOT_BE_REMOVED: { status: 409, message: "The owner cannot be removed; transfer ownership first." },
  OWNER_CANNOT_LEAVE: { status: 409, message: "The owner cannot leave the organization; transfer ownership first." },
  USE_LEAVE: { status: 403, message: "Use leave to remove yourself." },
  TWO_FACTOR_REQUIRED: {
    status: 403,
    message: "This organization requires two-factor authentication. Turn it on in your account settings.",
  },
  TWO_FACTOR_NOT_ENABLED: {
    status: 409,
    message: "Turn on two-factor authentication for your own account before requiring it of the organization.",
  },

  // Single sign-on (modules/sso)
  SSO_REQUIRED: {
    status: 403,
    message: "This organization requires single sign-on. Sign out, then sign in with SSO using your work email.",
  },
  SSO_CONFIG_INVALID: { status: 400, message: "The identity provider configuration was refused." },
  SSO_CLIENT_SECRET_REQUIRED: {
    status: 400,
    message: "Give the OIDC client secret: the issuer, client id or discovery URL changed (or none is stored yet).",
  },
  SSO_NOT_READY: {
    status: 409,
    message: "Requiring SSO needs a connection and a verified domain first, or nobody but the owner could get in.",
  },
  SSO_DOMAIN_NOT_FOUND: { status: 404, message: "This domain is not among the organization's SSO domains." },
  SSO_DOMAIN_NOT_VERIFIED: { status: 409, message: "The domain's DNS TXT record was not found yet." },
  SSO_DOMAIN_TAKEN: { status: 409, message: "Another organization has already verified this domain." },

  // Invitations
  INVITATION_NOT_FOUND: { status: 404, message: "This invitation link is not valid." },
  INVITATION_EMAIL_MISMATCH: {
    status: 403,
    message: "This invitation was sent to another email address. Sign in as that address to accept it.",
  },
  INVITATION_REVOKED: { status: 410, message: "This invitation was revoked. Ask for a new one." },
  INVITATION_EXPIRED: { status: 410, message: "This invitation has expired. Ask for a new one." },
  INVITATION_ALREADY_USED: { status: 409 },
  INVITATION_NOT_PENDING: { status: 409 },
  INVITATION_PENDING: { status: 409 },
  INVITATION_INVALID: {
    status: 409,
    message: "The person who invited you can no longer grant this role. Ask for a new invitation.",
  },
  ROLE_ABOVE_YOURS: { status: 403 },
  ALREADY_MEMBER: { status: 409, message: "You are already a member of this organization." },

  // Projects and API keys
  PROJECT_NOT_FOUND: { status: 404 },
  DEFAULT_MODEL_NOT_ALLOWED: { status: 400 },
  NOT_A_MEMBER: { status: 400, message: "Only members of this organization can be assigned to its projects." },
  KEY_NOT_FOUND: { status: 404, message: "No such API key in this project." },
  EXPIRY_IN_PAST: { status: 400, message: "expiresAt must be in the future." },
  KEY_LIMIT_REACHED: { status: 409 },
  API_TOKEN_NOT_FOUND: { status: 404, message: "No such API token in this organization." },
  API_TOKEN_LIMIT_REACHED: { status: 409 },

  // Request logs and security policies
  INVALID_CURSOR: { status: 400, message: "cursor must be a value returned as nextCursor." },
  LOG_NOT_FOUND: {
    status: 404,
    message: "No request with this id in this project (logs are written within a second or two).",
  },
  INVALID_POLICY: { status: 422 },
  POLICY_LOOSENS_ORG: { status: 422 },
  INCIDENT_NOT_FOUND: { status: 404, message: "No incident with this id in this organization." },

  // Custom providers (the base URL check names its reason in the code)
  PROVIDER_NOT_FOUND: { status: 404 },
  PROVIDER_SLUG_TAKEN: { status: 409 },
  MODEL_NOT_FOUND: { status: 404 },
  DUPLICATE_MODEL: { status: 400 },
  BASE_URL_INVALID_URL: { status: 400 },
  BASE_URL_UNSUPPORTED_SCHEME: { status: 400 },
  BASE_URL_CREDENTIALS_IN_URL: { status: 400 },
  BASE_URL_FORBIDDEN_ADDRESS: { status: 400 },
  BASE_URL_PRIVATE_ADDRESS: { status: 400 },
  AZURE_SETTINGS_FORMAT: {
    status: 400,
    message: 'apiVersion and deployments are Azure OpenAI settings: send them with format "azure".',
  },
  AZURE_API_KEY_REQUIRED: {
    status: 400,
    message: "An Azure OpenAI provider needs the resource's API key (Keys and Endpoint in the Azure portal).",
  },
  AZURE_ENDPOINT_INVALID: {
    status: 400,
    message:
      "Use the resource endpoint only, e.g. https://my-resource.openai.azure.com: no /openai/… path and no ?api-version (the deployments and the API version have fields of their own).",
  },
  DEPLOYMENT_MODEL_UNKNOWN: { status: 400 },
  VERTEX_SETTINGS_FORMAT: {
    status: 400,
    message:
      'project, location, serviceAccountJson and tokenUrl are Vertex AI settings: send them with format "vertex".',
  },
  VERTEX_API_KEY_UNUSED: {
    status: 400,
    message:
      "A Vertex AI provider authenticates with its service account key: send the key file as serviceAccountJson (apiKey is not used).",
  },
  VERTEX_PROJECT_REQUIRED: {
    status: 400,
    message: "A Vertex AI provider needs its Google Cloud project (project).",
  },
  VERTEX_KEY_REQUIRED: {
    status: 400,
    message:
      "A Vertex AI provider needs a service account's JSON key (serviceAccountJson): IAM → Service accounts → Keys → Add key → JSON.",
  },
  VERTEX_KEY_INVALID: { status: 400 },
  KEY_MODELS_OUTSIDE_PROJECT: { status: 400 },
  KEY_REVOKED: { status: 409, message: "This key is revoked; create a new one." },
  BUDGET_REQUIRED: { status: 400 },
  VIRTUAL_MODEL_NOT_FOUND: { status: 404 },
  VIRTUAL_MODEL_NAME_TAKEN: { status: 409 },
  VIRTUAL_MODEL_TARGET_INVALID: { status: 400 },
  PRESET_FORMAT: {
    status: 400,
    message: 'Presets are OpenAI-compatible vendors: leave format out, or send "openai".',
  },
  DISCOVERY_FORMAT: {
    status: 400,
    message: "Model discovery lists an OpenAI-format provider's /models; enter this provider's models instead.",
  },
  DISCOVERY_FAILED: { status: 502 },
  CREDENTIALS_FORMAT: {
    status: 400,
    message:
      "Several credentials are for the formats whose credential is an API key (openai, anthropic, gemini, azure); add another provider for another Vertex AI or Bedrock account.",
  },
  CREDENTIALS_AND_API_KEY: {
    status: 400,
    message: "Send either apiKey (one credential) or credentials (several), not both.",
  },
  CREDENTIAL_NOT_FOUND: { status: 400 },
  CREDENTIAL_KEY_REQUIRED: {
    status: 400,
    message: "A new credential needs its apiKey (send a stored credential's id to keep its key).",
  },
  BEDROCK_SETTINGS_FORMAT: {
    status: 400,
    message:
      'region, accessKeyId, secretAccessKey and sessionToken are Amazon Bedrock settings: send them with format "bedrock".',
  },
  BEDROCK_API_KEY_UNUSED: {
    status: 400,
    message:
      "An Amazon Bedrock provider signs its requests with AWS credentials: send accessKeyId and secretAccessKey (apiKey is not used).",
  },
  BEDROCK_REGION_REQUIRED: {
    status: 400,
    message: "An Amazon Bedrock provider needs its AWS region (region), e.g. us-east-1.",
  },
  BEDROCK_CREDENTIALS_REQUIRED: {
    status: 400,
    message:
      "Send AWS credentials whole: accessKeyId and secretAccessKey together, with sessionToken for temporary (STS) credentials.",
  },

  // Credits, usage reports and billing alerts
  INVALID_AMOUNT: { status: 400 },
  NOTE_REQUIRED: {
    status: 400,
    message: "A grant needs a note saying why (it is shown in the transaction history).",
  },
  INVALID_RANGE: { status: 400 },
  LOW_BALANCE_ALERT_UNAVAILABLE: { status: 400 },
  OWNER_ALWAYS_NOTIFIED: {
    status: 400,
    message: "The owner always receives billing alert emails; transfer ownership to stop them.",
  },
  WEBHOOK_URL_INVALID_URL: { status: 400 },
  WEBHOOK_URL_UNSUPPORTED_SCHEME: { status: 400 },
  WEBHOOK_URL_CREDENTIALS_IN_URL: { status: 400 },
  WEBHOOK_URL_FORBIDDEN_ADDRESS: { status: 400 },
  WEBHOOK_URL_PRIVATE_ADDRESS: { status: 400 },

  // Log destinations
  LOG_DESTINATION_NOT_FOUND: { status: 404, message: "No such log destination in this organization." },
  LOG_DESTINATION_LIMIT_REACHED: { status: 409 },

  // The operator console
  ORG_ALREADY_DISABLED: { status: 409, message: "This organization is already disabled." },
  ORG_NOT_DISABLED: { status: 409, message: "This organization is not disabled." },

  // Payments (Stripe)
  STRIPE_NOT_CONFIGURED: { status: 409 },
  /** 5xx on purpose: Stripe keeps retrying the event until the secret is set. */
  STRIPE_WEBHOOK_NOT_CONFIGURED: {
    status: 503,
    message: "Stripe webhooks are not configured on this instance (no STRIPE_WEBHOOK_SECRET).",
  },
  STRIPE_SIGNATURE_INVALID: {
    status: 400,
    message: "The Stripe-Signature header does not match this payload (or is older than 5 minutes).",
  },
  PAYMENT_DECLINED: { status: 402 },
  PAYMENT_PROVIDER_ERROR: { status: 502 },
  PAYMENT_METHOD_NOT_FOUND: { status: 404, message: "No such payment method in this organization." },
  AMOUNT_OUT_OF_RANGE: { status: 400 },
  AUTO_TOPUP_INCOMPLETE: {
    status: 400,
    message: "Auto top-up needs thresholdUsd (charge when the balance falls below it) and amountUsd (how much to add).",
  },
  AUTO_TOPUP_AMOUNT_TOO_SMALL: {
    status: 400,
    message:
      "amountUsd must be larger than thresholdUsd, so that one top-up lifts the balance back above the threshold.",
  },
  NO_DEFAULT_PAYMENT_METHOD: {
    status: 409,
    message: "Add a card and make it the default payment method before turning on auto top-up.",
  },
} as const satisfies Record<string, ErrorSpec>;

type Catalogue = typeof ERROR_CATALOGUE;

/** Every code the control plane raises itself. */
export type ApiErrorCode = keyof Catalogue;

/** The codes that come with a default message (`appError` may leave the message out). */
export type CodeWithDefaultMessage = {
  [C in ApiErrorCode]: Catalogue[C] extends { message: string } ? C : never;
}[ApiErrorCode];

/** The codes of one status, e.g. `CodeWithStatus<404>`. */
export type CodeWithStatus<S extends number> = {
  [C in ApiErrorCode]: Catalogue[C]["status"] extends S ? C : never;
}[ApiErrorCode];

/**
 * Codes of the auth library, relayed as they are by the `/api/auth/*` routes
 * (sign-up, sign-in, password change…); their status is the library's.
 */
export type AuthErrorCode = APIErrorCode;
