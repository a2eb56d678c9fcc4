/**
 * The auth library's account mail: password reset links and email
 * verification links, sent through the app's mailer. Links point at the
 * dashboard (`/reset-password?token=…`, `/verify-email?token=…`), whose pages
 * make the API call, so a mail scanner that follows links changes nothing.
 *
 * Invariants:
 *  - a reset token is single use, expires after RESET_TOKEN_TTL_SECONDS and is
 *    stored hashed (the library's `verification.storeIdentifier`); completing
 *    a reset ends every session of the user (`revokeSessionsOnPasswordReset`)
 *    and marks the address verified (the link reached it);
 *  - mail is sent in the background and never awaited by the request, so the
 *    answer takes as long whether or not an account exists for the address;
 *    a failed send is logged (without the link), never surfaced;
 *  - an account that is already verified gets no verification mail.
 */
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../db/db.js";
import type { Mailer, MailMessage } from "../mail.js";
import { users } from "./auth.schema.js";

export const RESET_TOKEN_TTL_SECONDS = 60 * 60;
export const VERIFICATION_TOKEN_TTL_SECONDS = 24 * 60 * 60;

interface MailUser {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
}

export function accountMailOptions(deps: {
  db: Db;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
  requireEmailVerification: boolean;
}) {
  function sendInBackground(message: MailMessage, what: string) {
    deps.mailer.send(message).catch((err: Error) => {
      deps.log.error({ err: err.message, to: message.to }, `${what} mail failed`);
    });
  }

  return {
    emailAndPassword: {
      requireEmailVerification: deps.requireEmailVerification,
      resetPasswordTokenExpiresIn: RESET_TOKEN_TTL_SECONDS,
      async sendResetPassword({ user, token }: { user: MailUser; token: string }) {
        const link = `${deps.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
        sendInBackground(
          {
            to: user.email,
            subject: "Reset your Tollgate password",
            text:
              `Hello ${user.name},\n\nsomeone (hopefully you) asked to reset the password of your Tollgate account (${user.email}).\n\n` +
              `Choose a new password: ${link}\n\n` +
              `The link works once and expires in ${RESET_TOKEN_TTL_SECONDS / 60} minutes. Resetting your password signs you out everywhere.\n` +
              `If you did not ask for this, ignore this email: your password stays as it is.\n`,
          },
          "password reset",
        );
      },
      async onPasswordReset({ user }: { user: MailUser }) {
        if (!user.emailVerified) await deps.db.update(users).set({ emailVerified: true }).where(eq(users.id, user.id));
      },
    },
    emailVerification: {
      sendOnSignUp: deps.requireEmailVerification,
      autoSignInAfterVerification: true,
      expiresIn: VERIFICATION_TOKEN_TTL_SECONDS,
      async sendVerificationEmail({ user, token }: { user: MailUser; token: string }) {
        if (user.emailVerified) return;
        const link = `${deps.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
        sendInBackground(
          {
            to: user.email,
            subject: "Verify your email address for Tollgate",
            text:
              `Hello ${user.name},\n\nplease confirm that ${user.email} is your address: ${link}\n\n` +
              `The link expires in ${VERIFICATION_TOKEN_TTL_SECONDS / 3600} hours; you can ask for a new one on the sign-in page.\n` +
              `If you did not create a Tollgate account, ignore this email.\n`,
          },
          "verification",
        );
      },
    },
    // Reset tokens are looked up by their hash: a copy of the table does not hold usable links.
    verification: {
      storeIdentifier: { default: "plain" as const, overrides: { "reset-password:": "hashed" as const } },
    },
  };
}
