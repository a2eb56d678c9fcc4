/**
 * Account recovery and verification pages: "forgot password" (asks for a
 * reset link), `/reset-password?token=…` (the mailed link: sets a new
 * password), `/verify-email?token=…` (the mailed link: verifies the address and
 * signs in). The server answers a link request the same whether
 * or not an account exists, so these pages never say whether one does.
 */
import { Alert, Anchor, Button, Loader, PasswordInput, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, api, formErrors } from "../api";
import { meKey } from "../session";
import { AuthFrame } from "./auth";

export function ForgotPasswordPage() {
  const [params] = useSearchParams();
  const form = useForm({
    initialValues: { email: params.get("email") ?? "" },
    validate: { email: (v) => (/^\S+@\S+$/.test(v) ? null : "Enter your email address.") },
  });
  const request = useMutation({
    mutationFn: (v: typeof form.values) => api.post("/api/auth/request-password-reset", v),
    onError: (err) => form.setErrors(formErrors(err, ["email"]).fields),
  });
  return (
    <AuthFrame title="Reset your password">
      {request.isSuccess ? (
        <Alert color="green" title="Check your inbox" data-testid="reset-requested">
          If an account exists for {request.variables.email}, we sent it a link to choose a new password. The link works
          once and expires in 60 minutes.
        </Alert>
      ) : (
        <form onSubmit={form.onSubmit((v) => request.mutate(v))} noValidate>
          <Stack>
            <Text size="sm" c="dimmed">
              Enter the email address of your account and we will send you a link to choose a new password.
            </Text>
            <TextInput label="Email" type="email" autoComplete="email" required {...form.getInputProps("email")} />
            {request.error && !Object.keys(form.errors).length && (
              <Text c="red" size="sm" role="alert">
                {request.error.message}
              </Text>
            )}
            <Button type="submit" loading={request.isPending}>
              Send reset link
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to="/sign-in" size="sm">
        Back to sign in
      </Anchor>
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const form = useForm({
    initialValues: { newPassword: "", confirm: "" },
    validate: {
      newPassword: (v) => (v.length >= 8 ? null : "Use at least 8 characters."),
      confirm: (v, all) => (v === all.newPassword ? null : "The passwords do not match."),
    },
  });
  const reset = useMutation({
    mutationFn: (v: typeof form.values) => api.post("/api/auth/reset-password", { token, newPassword: v.newPassword }),
    onError: (err) => form.setErrors(formErrors(err, ["newPassword"]).fields),
  });
  const badLink = reset.error instanceof ApiError && reset.error.code === "INVALID_TOKEN";
  return (
    <AuthFrame title="Choose a new password">
      {reset.isSuccess ? (
        <Stack>
          <Alert color="green" title="Password changed" data-testid="password-reset-done">
            You were signed out everywhere. Sign in with your new password.
          </Alert>
          <Button component={Link} to="/sign-in">
            Sign in
          </Button>
        </Stack>
      ) : !token || badLink ? (
        <Alert color="yellow" title="This link cannot be used" role="alert">
          Reset links work once and expire after 60 minutes.{" "}
          <Anchor component={Link} to="/forgot-password">
            Ask for a new one
          </Anchor>
          .
        </Alert>
      ) : (
        <form onSubmit={form.onSubmit((v) => reset.mutate(v))} noValidate>
          <Stack>
            <PasswordInput
              label="New password"
              description="At least 8 characters. Changing it signs you out everywhere."
              autoComplete="new-password"
              required
              {...form.getInputProps("newPassword")}
            />
            <PasswordInput
              label="Confirm new password"
              autoComplete="new-password"
              required
              {...form.getInputProps("confirm")}
            />
            {reset.error && !Object.keys(form.errors).length && (
              <Text c="red" size="sm" role="alert">
                {reset.error.message}
              </Text>
            )}
            <Button type="submit" loading={reset.isPending}>
              Set new password
            </Button>
          </Stack>
        </form>
      )}
    </AuthFrame>
  );
}

export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [email, setEmail] = useState("");
  // Following the link verifies the address and starts a session (the same link again changes nothing).
  const verify = useQuery({
    queryKey: ["verify-email", token],
    queryFn: () => api.get(`/api/auth/verify-email?token=${encodeURIComponent(token)}`),
    enabled: token !== "",
    retry: false,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const resend = useMutation({ mutationFn: () => api.post("/api/auth/send-verification-email", { email }) });
  return (
    <AuthFrame title="Verify your email address">
      {verify.isSuccess ? (
        <Stack>
          <Alert color="green" title="Email address verified" data-testid="email-verified">
            Your account is ready.
          </Alert>
          <Button onClick={() => qc.resetQueries({ queryKey: meKey }).then(() => navigate("/"))}>Continue</Button>
        </Stack>
      ) : verify.isPending && token ? (
        <Loader aria-label="Verifying" />
      ) : (
        <Stack>
          <Alert color="yellow" title="This link cannot be used" role="alert">
            Verification links expire after 24 hours. Enter your email address to get a new one.
          </Alert>
          <TextInput label="Email" type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
          <Button
            w="fit-content"
            onClick={() => resend.mutate()}
            loading={resend.isPending}
            disabled={!/^\S+@\S+$/.test(email)}
          >
            Send a new link
          </Button>
          {resend.isSuccess && <Text size="sm">If {email} needs verifying, a new link is on its way.</Text>}
          {resend.error && (
            <Text c="red" size="sm" role="alert">
              {resend.error.message}
            </Text>
          )}
        </Stack>
      )}
    </AuthFrame>
  );
}
