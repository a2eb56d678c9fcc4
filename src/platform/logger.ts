/** The process logger (pino). Credentials in headers are redacted wherever a request is logged. */
import pino, { type Logger } from "pino";

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ["req.headers.authorization", "req.headers.cookie", 'req.headers["x-api-key"]', 'res.headers["set-cookie"]', "password", "*.password"],
      censor: "[redacted]",
    },
  });
}
