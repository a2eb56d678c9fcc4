/**
 * The profile menu's colour scheme choice: Auto (the system's), Light or Dark.
 * Mantine's colour-scheme manager (theme.ts) remembers it in localStorage.
 */
import { type MantineColorScheme, SegmentedControl, Stack, Text, useMantineColorScheme } from "@mantine/core";

const OPTIONS: { value: MantineColorScheme; label: string }[] = [
  { value: "auto", label: "Auto" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

export function ColorSchemeControl() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  return (
    <Stack gap={4} px="sm" py={6}>
      <Text size="xs" c="dimmed" fw={500} id="color-scheme-label">
        Appearance
      </Text>
      <SegmentedControl
        size="xs"
        fullWidth
        aria-labelledby="color-scheme-label"
        data-testid="color-scheme"
        value={colorScheme}
        onChange={(v) => setColorScheme(v as MantineColorScheme)}
        data={OPTIONS}
      />
    </Stack>
  );
}
