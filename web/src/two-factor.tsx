/**
 * Two-factor authentication in the dashboard: the account's enrolment modal
 * (password → otpauth URI and secret as text → a verified code turns it on →
 * the backup codes, shown this once), turning it off with the password, the
 * code step of sign-in (an authenticator code or a backup code) and the notice
 * an organization that requires 2FA shows to a member who has none.
 * The server decides everything; after a change the `me` query is reloaded.
 */
import { Alert, Anchor, Button, Code, Group, Modal, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { api, ApiError, type Org } from "./api";
import { meKey, useMe } from "./session";

interface Enrolment {
  totpURI: string;
  backupCodes: string[];
}

/** The two-factor plugin's code when the sign-in's pending state is gone (10 minutes). */
const SIGN_IN_EXPIRED: string = "INVALID_TWO_FACTOR_COOKIE";

const errorText = (err: unknown) => (err instanceof Error ? err.message : "Something went wrong.");

function ErrorLine({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Text c="red" size="sm" role="alert">
      {errorText(error)}
    </Text>
  );
}

/** The code of an authenticator app, 6 digits. */
function CodeInput(props: { value: string; onChange: (v: string) => void; label?: string }) {
  return (
    <TextInput
      label={props.label ?? "Code from your authenticator app"}
      autoComplete="one-time-code"
      inputMode="numeric"
      required
      data-autofocus
      value={props.value}
      onChange={(e) => props.onChange(e.currentTarget.value.trim())}
    />
  );
}

function PasswordStep({ onEnrolment }: { onEnrolment: (e: Enrolment) => void }) {
  const [password, setPassword] = useState("");
  const enable = useMutation({
    mutationFn: () => api.post<Enrolment>("/api/auth/two-factor/enable", { password }),
    onSuccess: onEnrolment,
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        enable.mutate();
      }}
    >
      <Stack>
        <Text size="sm">
          Sign-in will ask for a code from an authenticator app (any TOTP app) after your password. Confirm your
          password to start.
        </Text>
        <PasswordInput
          label="Password"
          autoComplete="current-password"
          required
          data-autofocus
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorLine error={enable.error} />
        <Group justify="flex-end">
          <Button type="submit" loading={enable.isPending} disabled={!password}>
            Continue
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function VerifyStep({ enrolment, onVerified }: { enrolment: Enrolment; onVerified: () => void }) {
  const [code, setCode] = useState("");
  const secret = new URL(enrolment.totpURI).searchParams.get("secret") ?? "";
  const verify = useMutation({
    mutationFn: () => api.post("/api/auth/two-factor/verify-totp", { code }),
    onSuccess: onVerified,
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        verify.mutate();
      }}
    >
      <Stack>
        <Text size="sm">Add this account to your authenticator app with the link, or type the secret by hand:</Text>
        <Code block data-testid="totp-uri" style={{ wordBreak: "break-all" }}>
          {enrolment.totpURI}
        </Code>
        <Text size="sm">
          Secret: <Code data-testid="totp-secret">{secret}</Code>
        </Text>
        <CodeInput value={code} onChange={setCode} />
        <ErrorLine error={verify.error} />
        <Group justify="flex-end">
          <Button type="submit" loading={verify.isPending} disabled={!code}>
            Turn on
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function BackupCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <Stack>
      <Text role="status" data-testid="two-factor-on">
        Two-factor authentication is on.
      </Text>
      <Text size="sm">
        Keep these backup codes somewhere safe. Each signs you in once without the app. They are shown only now.
      </Text>
      <Code block data-testid="backup-codes">
        {codes.join("\n")}
      </Code>
      <Group justify="flex-end">
        <Button onClick={onDone}>Done</Button>
      </Group>
    </Stack>
  );
}

function DisableForm({ onDone }: { onDone: () => void }) {
  const [password, setPassword] = useState("");
  const disable = useMutation({
    mutationFn: () => api.post("/api/auth/two-factor/disable", { password }),
    onSuccess: onDone,
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        disable.mutate();
      }}
    >
      <Stack>
        <Text size="sm">
          Two-factor authentication is on. To turn it off, confirm your password. Organizations that require it will
          refuse you until you turn it on again.
        </Text>
        <PasswordInput
          label="Password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorLine error={disable.error} />
        <Group justify="flex-end">
          <Button type="submit" color="red" loading={disable.isPending} disabled={!password}>
            Turn off
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The account's two-factor settings, from the profile menu. */
export function TwoFactorModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const me = useMe();
  const qc = useQueryClient();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [verified, setVerified] = useState(false);
  const close = () => {
    setEnrolment(null);
    setVerified(false);
    void qc.invalidateQueries({ queryKey: meKey });
    onClose();
  };
  const enabled = me.data?.user.twoFactorEnabled === true;
  let body: ReactNode;
  if (verified && enrolment) body = <BackupCodes codes={enrolment.backupCodes} onDone={close} />;
  else if (enrolment) body = <VerifyStep enrolment={enrolment} onVerified={() => setVerified(true)} />;
  else if (enabled) body = <DisableForm onDone={close} />;
  else body = <PasswordStep onEnrolment={setEnrolment} />;
  return (
    <Modal opened={opened} onClose={close} title="Two-factor authentication">
      {body}
    </Modal>
  );
}

/** Sign-in's second step, after the password was accepted for an enrolled account. */
export function TwoFactorCodeStep({ onSignedIn }: { onSignedIn: () => void }) {
  const [backup, setBackup] = useState(false);
  const [code, setCode] = useState("");
  const verify = useMutation({
    mutationFn: () =>
      api.post(backup ? "/api/auth/two-factor/verify-backup-code" : "/api/auth/two-factor/verify-totp", { code }),
    onSuccess: onSignedIn,
  });
  const expired = verify.error instanceof ApiError && verify.error.code === SIGN_IN_EXPIRED;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        verify.mutate();
      }}
      data-testid="two-factor-step"
    >
      <Stack>
        <CodeInput value={code} onChange={setCode} label={backup ? "Backup code" : undefined} />
        {expired ? (
          <Text c="red" size="sm" role="alert">
            This sign-in took too long. Reload the page and sign in again.
          </Text>
        ) : (
          <ErrorLine error={verify.error} />
        )}
        <Button type="submit" loading={verify.isPending} disabled={!code}>
          Verify
        </Button>
        <Anchor
          component="button"
          type="button"
          size="sm"
          onClick={() => {
            setBackup(!backup);
            setCode("");
            verify.reset();
          }}
        >
          {backup ? "Use the authenticator app instead" : "Use a backup code instead"}
        </Anchor>
      </Stack>
    </form>
  );
}

/** What a member without 2FA sees in an organization that requires it. */
export function TwoFactorRequired({ org }: { org: Org }) {
  const [opened, modal] = useDisclosure(false);
  return (
    <Stack align="center" py="xl" data-testid="two-factor-required">
      <Title order={2}>Two-factor authentication required</Title>
      <Alert color="yellow" maw={520}>
        {org.name} requires every member to use two-factor authentication. Turn it on for your account to continue.
      </Alert>
      <Button onClick={modal.open}>Set up two-factor authentication</Button>
      <TwoFactorModal opened={opened} onClose={modal.close} />
    </Stack>
  );
}
