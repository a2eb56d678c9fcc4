/**
 * Outgoing mail. With SMTP_URL, nodemailer sends it; without, each message is
 * printed to the server log and saved as an .eml file under <data dir>/outbox/
 * so a self-hoster can still copy an invitation link. Callers send after their
 * transaction commits; a failed send is logged, never rolls back the change.
 */
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
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    async send(m) {
      let file: string | null = null;
      if (outbox) {
        const info = await builder.sendMail({ from: opts.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
        await mkdir(outbox, { recursive: true });
        file = path.join(outbox, `${new Date().toISOString().replace(/[:.]/g, "-")}-${info.messageId.replace(/[^a-zA-Z0-9]/g, "").slice(0, 16)}.eml`);
        await writeFile(file, info.message as Buffer, { mode: 0o600 });
      }
      opts.log.info({ to: m.to, subject: m.subject, outboxFile: file, body: m.text }, "mail not sent (SMTP_URL is not set); saved to the outbox");
    },
    close: () => builder.close(),
  };
}
