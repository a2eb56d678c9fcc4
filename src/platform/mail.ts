/**
 * Outgoing mail. With SMTP_URL, nodemailer sends it; without, each message is
 * printed to the server log and saved as a plain-text file under
 * <data dir>/outbox/ (headers, blank line, body — unencoded, so links can be
 * copied as they are) so a self-hoster can still copy an invitation link. Callers send after their
 * transaction commits; a failed send is logged, never rolls back the change.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import type { Logger } from "pino";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** Header values stay on their line: a line break in a subject must not start a new header or the body. */
const oneLine = (v: string) => v.replace(/[\r\n\u2028\u2029]+/g, " ");

export function createMailer(opts: { smtpUrl?: string; from: string; dataDir: string | null; log: Logger }): Mailer {
  if (opts.smtpUrl) {
    const transport = nodemailer.createTransport(opts.smtpUrl);
    return {
      async send(m) {
        await transport.sendMail({ from: opts.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
        opts.log.info({ to: m.to, subject: m.subject }, "mail sent");
      },
      close: () => transport.close(),
    };
  }
  const outbox = opts.dataDir ? path.join(opts.dataDir, "outbox") : null;
  return {
    async send(m) {
      let file: string | null = null;
      if (outbox) {
        const date = new Date();
        await mkdir(outbox, { recursive: true, mode: 0o700 });
        file = path.join(outbox, `${date.toISOString().replace(/[:.]/g, "-")}-${randomBytes(4).toString("hex")}.txt`);
        const content = `From: ${oneLine(opts.from)}\nTo: ${oneLine(m.to)}\nSubject: ${oneLine(m.subject)}\nDate: ${date.toUTCString()}\n\n${m.text}`;
        await writeFile(file, content, { mode: 0o600 });
      }
      opts.log.info(
        { to: m.to, subject: m.subject, outboxFile: file, body: m.text },
        "mail not sent (SMTP_URL is not set); saved to the outbox",
      );
    },
    close: () => {},
  };
}
