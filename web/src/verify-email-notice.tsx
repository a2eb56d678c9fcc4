/**
 * The "verify your email" notice with its resend button, shown by sign-up (an
 * instance that requires verification starts no session until then) and by
 * sign-in (EMAIL_NOT_VERIFIED). The server answers a resend the same whether
 * or not an unverified account exists for the address.
 */
import { Alert, Button, Stack, Text } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { api } from "./api";

/** "Check your inbox" with a button that sends the verification link again. */
export function VerifyEmailNotice({ email }: { email: string }) {
  const resend = useMutation({
    mutationFn: () => api.post("/api/auth/send-verification-email", { email }),
  });
  return (
    <Alert color="indigo" title="Verify your email address" data-testid="verify-email-notice">
      <Stack gap="xs">
        <Text size="sm">
          We sent a link to <b>{email}</b>. Follow it to finish setting up your account; it is valid for 24 hours.
        </Text>
        <Button
          size="xs"
          variant="light"
          w="fit-content"
          onClick={() => resend.mutate()}
          loading={resend.isPending}
          disabled={resend.isSuccess}
        >
          {resend.isSuccess ? "Sent: check your inbox" : "Send the link again"}
        </Button>
        {resend.error && (
          <Text c="red" size="sm" role="alert">
            {resend.error.message}
          </Text>
        )}
      </Stack>
    </Alert>
  );
}
