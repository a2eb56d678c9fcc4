/**
 * The dashboard's look: one Mantine theme (system fonts only — the dashboard must
 * work on a closed network), indigo as the primary colour (the logo's), one
 * radius, one scale of headings (every page title is a `<Title order={2}>`), and
 * the colour scheme: the system's unless the user picked one in the profile menu,
 * remembered in localStorage under COLOR_SCHEME_KEY (web/public/color-scheme.js
 * reads the same key before the first paint, so a dark page never flashes white).
 */
import { createTheme, localStorageColorSchemeManager, rem } from "@mantine/core";

export const COLOR_SCHEME_KEY = "tollgate-color-scheme";
export const colorSchemeManager = localStorageColorSchemeManager({ key: COLOR_SCHEME_KEY });

const SANS =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif, "Apple Color Emoji", "Segoe UI Emoji"';
const MONO =
  'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace';

export const theme = createTheme({
  primaryColor: "indigo",
  // Shade 6 on white, a lighter one on the dark background (the default 8 is too dim there).
  primaryShade: { light: 6, dark: 5 },
  defaultRadius: "md",
  fontFamily: SANS,
  fontFamilyMonospace: MONO,
  focusRing: "auto",
  headings: {
    fontFamily: SANS,
    fontWeight: "700",
    textWrap: "balance",
    sizes: {
      h1: { fontSize: rem(30), lineHeight: "1.25" },
      h2: { fontSize: rem(24), lineHeight: "1.3" },
      h3: { fontSize: rem(19), lineHeight: "1.35" },
      h4: { fontSize: rem(16), lineHeight: "1.4" },
      h5: { fontSize: rem(14), lineHeight: "1.45" },
      h6: { fontSize: rem(13), lineHeight: "1.45" },
    },
  },
  components: {
    Paper: { defaultProps: { radius: "md" } },
    Card: { defaultProps: { radius: "md" } },
    Badge: { defaultProps: { radius: "sm" } },
  },
});
