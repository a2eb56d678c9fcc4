/**
 * Sign up, sign in (with a password; "Sign in with SSO" leads to sso-sign-in.tsx).
 * A `next` query parameter brings the user back (e.g. to an
 * invitation); an `invitation` parameter (the invitation link's token) goes
 * with the sign-up, so the invited address starts out verified. An account
 * whose address is not verified yet gets the "verify your email" notice.
 */
import { Logo } from "../brand";
import { Anchor, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, api, formErrors } from "../api";
import { meKey } from "../session";
import { TwoFactorCodeStep } from "../two-factor";
import { VerifyEmailNotice } from "../verify-email-notice";

/** Only same-site paths: an open redirect would let a link send users anywhere after signing in. */
export function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Center mih="100vh" p="md" bg="var(--mantine-color-default-hover)">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={420}>
        <Stack>
          <Logo />
          <Title order={2}>{title}</Title>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

export function SignInPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const [needsCode, setNeedsCode] = useState(false);
  const signedIn = async () => {
    await qc.resetQueries({ queryKey: meKey });
    navigate(next);
  };
  const form = useForm({
    initialValues: { email: params.get("email") ?? "", password: "" },
    validate: {
      email: (v) => (/^\S+@\S+$/.test(v) ? null : "Enter your email address."),
      password: (v) => (v ? null : "Enter your password."),
    },
  });
  const signIn = useMutation({
    mutationFn: (v: typeof form.values) => api.post<{ twoFactorRedirect?: boolean }>("/api/auth/sign-in/email", v),
    // An account with two-factor authentication: the session starts only after the code step.
    onSuccess: async (res) => (res?.twoFactorRedirect ? setNeedsCode(true) : signedIn()),
    onError: (err) => {
      const e = formErrors(err, ["email", "password"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  if (needsCode)
    return (
      <AuthFrame title="Two-factor authentication">
        <TwoFactorCodeStep onSignedIn={signedIn} />
      </AuthFrame>
    );
  return (
    <AuthFrame title="Sign in">
      <form onSubmit={form.onSubmit((v) => signIn.mutate(v))} noValidate>
        <Stack>
          <TextInput label="Email" type="email" autoComplete="email" required {...form.getInputProps("email")} />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            {...form.getInputProps("password")}
          />
          {signIn.error instanceof ApiError && signIn.error.code === "EMAIL_NOT_VERIFIED" ? (
            <VerifyEmailNotice email={signIn.variables?.email ?? form.values.email} />
          ) : (
            general && (
              <Text c="red" size="sm" role="alert">
                {general}
              </Text>
            )
          )}
          <Button type="submit" loading={signIn.isPending}>
            Sign in
          </Button>
        </Stack>
      </form>
      <Button component={Link} to={`/sign-in/sso?${ssoParams(form.values.email, params)}`} variant="default">
        Sign in with SSO
      </Button>
      <Anchor component={Link} to={`/forgot-password?email=${encodeURIComponent(form.values.email)}`} size="sm">
        Forgot password?
      </Anchor>
      <Text size="sm">
        New to Tollgate?{" "}
        <Anchor component={Link} to={`/sign-up?${params.toString()}`}>
          Create an account
        </Anchor>
      </Text>
    </AuthFrame>
  );
}

/** The SSO sign-in page's query: the email typed so far and where to go afterwards. */
function ssoParams(email: string, params: URLSearchParams): string {
  const out = new URLSearchParams();
  if (email) out.set("email", email);
  const next = params.get("next");
  if (next) out.set("next", next);
  return out.toString();
}

export function SignUpPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { name: "", email: params.get("email") ?? "", password: "" },
    validate: {
      name: (v) => (v.trim() ? null : "Enter your name."),
      email: (v) => (/^\S+@\S+$/.test(v) ? null : "Enter a valid email address."),
      password: (v) => (v.length >= 8 ? null : "Use at least 8 characters."),
    },
  });
  const invitationToken = params.get("invitation") ?? undefined;
  const signUp = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post<{ token: string | null; user: { email: string; emailVerified: boolean } }>("/api/auth/sign-up/email", {
        ...v,
        name: v.name.trim(),
        invitationToken,
      }),
    onSuccess: async (res) => {
      // No session yet: the instance requires a verified address first.
      if (!res.token && !res.user.emailVerified) return;
      await qc.resetQueries({ queryKey: meKey });
      navigate(next);
    },
    onError: (err) => {
      const e = formErrors(err, ["name", "email", "password"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  if (signUp.data && !signUp.data.token && !signUp.data.user.emailVerified)
    return (
      <AuthFrame title="Check your inbox">
        <VerifyEmailNotice email={signUp.data.user.email} />
      </AuthFrame>
    );
  return (
    <AuthFrame title="Create your account">
      <Text size="sm" c="dimmed">
        You get a personal organization to start with; create or join team organizations any time.
      </Text>
      <form onSubmit={form.onSubmit((v) => signUp.mutate(v))} noValidate>
        <Stack>
          <TextInput label="Name" autoComplete="name" required {...form.getInputProps("name")} />
          <TextInput label="Email" type="email" autoComplete="email" required {...form.getInputProps("email")} />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            description="At least 8 characters."
            required
            {...form.getInputProps("password")}
          />
          {general && (
            <Text c="red" size="sm" role="alert">
              {general}
            </Text>
          )}
          <Button type="submit" loading={signUp.isPending}>
            Sign up
          </Button>
        </Stack>
      </form>
      <Text size="sm">
        Already have an account?{" "}
        <Anchor component={Link} to={`/sign-in?${params.toString()}`}>
          Sign in
        </Anchor>
      </Text>
    </AuthFrame>
  );
}
