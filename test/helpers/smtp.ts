/** A real SMTP server in the test process: receives what Tollgate sends, parsed. */
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface TestSmtp {
  url: string;
  messages: ParsedMail[];
  /** Resolves with the next message to `to` (already received or arriving within the timeout). */
  waitFor(to: string, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail);
          for (const w of waiters.splice(0)) w();
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  const seen = new Set<ParsedMail>();
  const recipients = (m: ParsedMail) =>
    ([] as Array<{ value: Array<{ address?: string }> }>)
      .concat((m.to as never) ?? [])
      .flatMap((a) => a.value.map((v) => v.address?.toLowerCase()));

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = messages.find((x) => !seen.has(x) && recipients(x).includes(to.toLowerCase()));
        if (m) {
          seen.add(m);
          return m;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The invitation token from an invitation email's link. */
export function inviteToken(mail: ParsedMail): string {
  const m = /\/invite\/([A-Za-z0-9_-]+)/.exec(mail.text ?? "");
  if (!m) throw new Error("no invitation link in mail");
  return m[1]!;
}
