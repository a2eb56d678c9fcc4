/**
 * Tollgate's mark: a toll barrier — a post on its base with a striped boom — on
 * a tile of the primary colour, and the wordmark beside it. The same drawing is
 * web/public/favicon.svg (with the colour written out, as a favicon cannot read
 * the theme).
 */
import { Group, Text } from "@mantine/core";

/** The mark alone (decorative: the caller names it). */
export function LogoMark({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" style={{ fill: "var(--mantine-primary-color-filled)" }} />
      <g fill="#fff">
        <rect x="4" y="23.5" width="11" height="3.5" rx="1.25" />
        <rect x="6.5" y="6.5" width="6" height="18" rx="1.5" />
        <path d="M12.5 9.5H18.2L16.8 14.5H12.5Z" />
        <path d="M19.8 9.5H24L22.6 14.5H18.4Z" />
        <path d="M25.6 9.5A2.5 2.5 0 0 1 25.6 14.5H24.2Z" />
        <rect x="17" y="23.5" width="11" height="3.5" rx="1.25" opacity={0.45} />
      </g>
      <circle cx="9.5" cy="12" r="1.5" style={{ fill: "var(--mantine-primary-color-filled)" }} />
    </svg>
  );
}

/** Mark and wordmark, named "Tollgate" for assistive technology; `compact` keeps the mark only. */
export function Logo({ size = 28, compact = false }: { size?: number; compact?: boolean }) {
  return (
    <Group gap={8} wrap="nowrap" role="img" aria-label="Tollgate" data-testid="logo">
      <LogoMark size={size} />
      {!compact && (
        <Text fw={800} fz={size * 0.68} lh={1} lts={-0.3} c="var(--mantine-color-text)" aria-hidden visibleFrom="xs">
          Tollgate
        </Text>
      )}
    </Group>
  );
}
