/**
 * The process logger (pino). Credentials in headers are redacted wherever a
 * request is logged, and so are invitation tokens in request URLs (the
 * contract puts them in the path: /api/v1/invitations/{token}, /invite/{token})
 * and account link tokens (password reset, email verification: `token=` in
 * the query, /api/auth/reset-password/{token}).
 */
import pino, { type DestinationStream, type Logger } from "pino";

const TOKEN_IN_PATH = /^(\/(?:api\/v1\/invitations|invite|api\/auth\/reset-password)\/)[^/?#]+/;
const TOKEN_IN_QUERY = /([?&]token=)[^&#]*/gi;

/** A request URL fit for the log: tokens in the path and in a `token` query parameter are replaced. */
export const loggableUrl = (url: string): string =>
  url.replace(TOKEN_IN_PATH, "$1[redacted]").replace(TOKEN_IN_QUERY, "$1[redacted]");

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers.cookie",
          'req.headers["x-api-key"]',
          'res.headers["set-cookie"]',
          "password",
          "*.password",
        ],
        censor: "[redacted]",
      },
      serializers: {
        // The shape Fastify logs for a request, with the URL made loggable.
        req: (req: LoggedRequest) => ({
          method: req.method,
          url: req.url === undefined ? undefined : loggableUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
