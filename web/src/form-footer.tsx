/** The foot of a dialog's form: the error that belongs to no field, then Cancel and the submit button. */
import { Button, Group, Text } from "@mantine/core";

export function FormFooter(props: {
  /** The form's error that no field shows (null: none). */
  error: string | null | undefined;
  onCancel: () => void;
  submitLabel: string;
  loading: boolean;
}) {
  return (
    <>
      {props.error && (
        <Text c="red" size="sm" role="alert">
          {props.error}
        </Text>
      )}
      <Group justify="flex-end">
        <Button variant="default" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button type="submit" loading={props.loading}>
          {props.submitLabel}
        </Button>
      </Group>
    </>
  );
}
