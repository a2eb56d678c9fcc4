/**
 * `/sign-in/sso`: sign in through an organization's identity provider. The email's domain picks the
 * organization's connection; the server answers with the identity provider's address and the browser goes
 * there, then comes back through Tollgate's callback to `next` (same-site only) signed in. A failed sign-in
 * comes back here with `?error=<code>&error_description=…`, which the page explains. `email` prefills the field.
 *
 * Invariants: the browser leaves only for the address the server returned; messages are in role="alert".
 */
import { Anchor, Button, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { ApiError, api } from "../api";
import { AuthFrame, safeNext } from "./auth";

const NO_CONNECTION = "No single sign-on is set up for this email's domain. Sign in with your password.";

/** What the identity provider round trip's error code means to the person signing in. */
const CALLBACK_ERRORS: Record<string, string> = {
  SSO_EMAIL_DOMAIN_NOT_ALLOWED:
    "Your identity provider signed you in as an address outside this organization's domains.",
  access_denied: "Your identity provider did not sign you in.",
};

function callbackMessage(code: string, description: string | null): string {
  return (
    CALLBACK_ERRORS[code] ??
    (description
      ? `Single sign-on failed: ${description.replaceAll("_", " ")}.`
      : "Single sign-on failed. Try again, or ask your organization's owner to check the identity provider settings.")
  );
}

export function SsoSignInPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const callbackError = params.get("error");
  const form = useForm({
    initialValues: { email: params.get("email") ?? "" },
    validate: { email: (v) => (/^\S+@\S+\.\S+$/.test(v.trim()) ? null : "Enter your work email address.") },
  });
  const start = useMutation({
    mutationFn: (email: string) => {
      // Failures come back to this page, keeping where the person was going.
      const back = new URLSearchParams({ email });
      if (next !== "/") back.set("next", next);
      return api.post<{ url: string; redirect: boolean }>("/api/auth/sign-in/sso", {
        email,
        callbackURL: next,
        errorCallbackURL: `/sign-in/sso?${back.toString()}`,
      });
    },
    onSuccess: (res) => window.location.assign(res.url),
  });
  let message: string | null = null;
  // 404: no connection serves the domain at all; 401: one does, but its domain is not verified yet.
  if (start.error)
    message =
      start.error instanceof ApiError && [401, 404].includes(start.error.status) ? NO_CONNECTION : start.error.message;
  else if (callbackError && !start.isPending) message = callbackMessage(callbackError, params.get("error_description"));
  const passwordParams = new URLSearchParams();
  if (form.values.email) passwordParams.set("email", form.values.email);
  if (params.get("next")) passwordParams.set("next", next);

  return (
    <AuthFrame title="Sign in with SSO">
      <Text size="sm" c="dimmed">
        Enter your work email. You continue at your organization's identity provider and come back signed in.
      </Text>
      <form onSubmit={form.onSubmit((v) => start.mutate(v.email.trim()))} noValidate>
        <Stack>
          <TextInput
            label="Work email"
            type="email"
            autoComplete="email"
            required
            data-autofocus
            {...form.getInputProps("email")}
          />
          {message && (
            <Text c="red" size="sm" role="alert" data-testid="sso-sign-in-error">
              {message}
            </Text>
          )}
          {/* Still loading after success: the browser is on its way to the identity provider. */}
          <Button type="submit" loading={start.isPending || start.isSuccess}>
            Continue
          </Button>
        </Stack>
      </form>
      <Anchor component={Link} to={`/sign-in?${passwordParams.toString()}`} size="sm">
        Sign in with a password instead
      </Anchor>
    </AuthFrame>
  );
}
