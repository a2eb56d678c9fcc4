/**
 * Change password, from the profile menu. The server ends every other session
 * of the user on a change (this one continues with a fresh cookie), so the
 * form says so before and after.
 */
import { Button, Group, Modal, PasswordInput, Stack, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError, type ErrorCode, formErrors } from "./api";
import { FormFooter } from "./form-footer";

/** The auth library's codes name the field they are about (its own names, not the form's). */
const FIELD_OF_CODE: Partial<Record<ErrorCode, "currentPassword" | "newPassword">> = {
  INVALID_PASSWORD: "currentPassword",
  PASSWORD_TOO_SHORT: "newPassword",
  PASSWORD_TOO_LONG: "newPassword",
};

export function ChangePasswordModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const [general, setGeneral] = useState<string | null>(null);
  const form = useForm({
    initialValues: { currentPassword: "", newPassword: "", confirm: "" },
    validate: {
      currentPassword: (v) => (v ? null : "Enter your current password."),
      newPassword: (v) => (v.length >= 8 ? null : "Use at least 8 characters."),
      confirm: (v, all) => (v === all.newPassword ? null : "The passwords do not match."),
    },
  });
  const change = useMutation({
    mutationFn: (v: typeof form.values) =>
      api.post("/api/auth/change-password", { currentPassword: v.currentPassword, newPassword: v.newPassword }),
    onSuccess: () => {
      form.reset();
      setGeneral(null);
    },
    onError: (err) => {
      const field = err instanceof ApiError ? FIELD_OF_CODE[err.code] : undefined;
      if (field) return form.setErrors({ [field]: err.message });
      const e = formErrors(err, ["currentPassword", "newPassword"]);
      form.setErrors(e.fields);
      setGeneral(e.general);
    },
  });
  const close = () => {
    change.reset();
    form.reset();
    setGeneral(null);
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title="Change password">
      {change.isSuccess ? (
        <Stack>
          <Text role="status" data-testid="password-changed">
            Password changed. Other sessions were signed out.
          </Text>
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={form.onSubmit((v) => change.mutate(v))} noValidate>
          <Stack>
            <PasswordInput
              label="Current password"
              autoComplete="current-password"
              required
              data-autofocus
              {...form.getInputProps("currentPassword")}
            />
            <PasswordInput
              label="New password"
              autoComplete="new-password"
              description="At least 8 characters."
              required
              {...form.getInputProps("newPassword")}
            />
            <PasswordInput
              label="Confirm new password"
              autoComplete="new-password"
              required
              {...form.getInputProps("confirm")}
            />
            <Text size="sm" c="dimmed">
              Changing your password signs you out everywhere else; this browser stays signed in.
            </Text>
            <FormFooter error={general} onCancel={close} submitLabel="Change password" loading={change.isPending} />
          </Stack>
        </form>
      )}
    </Modal>
  );
}
