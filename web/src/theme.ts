/**
 * The dashboard's look: one Mantine theme (system fonts only — the dashboard must
 * work on a closed network), indigo as the primary colour (the logo's), one
 * radius, one scale of headings (every page title is a `<Title order={2}>`), and
 * the colour scheme: the system's unless the user picked one in the profile menu,
 * remembered in localStorage under COLOR_SCHEME_KEY (web/public/color-scheme.js
 * reads the same key before the first paint, so a dark page never flashes white).
 */
import {
  type CSSVariablesResolver,
  createTheme,
  darken,
  localStorageColorSchemeManager,
  luminance,
  rem,
} from "@mantine/core";

export const COLOR_SCHEME_KEY = "tollgate-color-scheme";
export const colorSchemeManager = localStorageColorSchemeManager({ key: COLOR_SCHEME_KEY });

const SANS =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif, "Apple Color Emoji", "Segoe UI Emoji"';
const MONO =
  'ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace';

export const theme = createTheme({
  primaryColor: "indigo",
  // Shade 7 in both schemes: white text on it and it on white both reach 4.5:1 (WCAG AA); links on the dark
  // background use a lighter shade (cssVariables below).
  primaryShade: { light: 7, dark: 7 },
  // Text on filled colours (badges, buttons) is white or black, whichever reads better: at a luminance of
  // 0.179 both give the same contrast, so every filled colour gets at least 4.58:1.
  autoContrast: true,
  luminanceThreshold: 0.179,
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
    // The close (×) button of every dialog and drawer has a name.
    Modal: { defaultProps: { closeButtonProps: { "aria-label": "Close" } } },
    Drawer: { defaultProps: { closeButtonProps: { "aria-label": "Close" } } },
  },
});

/** WCAG contrast ratio of two colours. */
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
};

/**
 * A colour's text on white and on its own light tints (up to shade 1: an active link's background) at WCAG
 * AA (4.5:1): its shade 8, darkened until it reads (Mantine's light variants and coloured text use shade 6,
 * 2.2–4.3:1 for green, yellow, orange…).
 */
function readableOnLight(shade8: string, tint: string): string {
  let c = shade8;
  for (let k = 0.05; contrast(c, tint) < 4.6 && k <= 0.6; k += 0.05) c = darken(shade8, k);
  return c;
}

/**
 * Colours that must read at WCAG AA contrast (4.5:1 for text): Mantine's dimmed text (gray 6 on white is
 * 3.3:1, dark 2 on the dark body 4.0:1), links (on a selected row's tint in the light scheme; primary 4 on
 * the dark background: 5.2:1), and in the light scheme every colour's light-variant and text colour (badges,
 * coloured amounts).
 */
export const cssVariables: CSSVariablesResolver = (t) => {
  const primary = t.colors[t.primaryColor]!;
  const light: Record<string, string> = {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    // Links stay readable on a selected row's tint too.
    "--mantine-color-anchor": readableOnLight(primary[8]!, primary[1]!),
  };
  for (const [name, shades] of Object.entries(t.colors)) {
    if (name === "dark" || name === "gray") continue;
    const readable = readableOnLight(shades[8]!, shades[1]!);
    light[`--mantine-color-${name}-light-color`] = readable;
    light[`--mantine-color-${name}-text`] = readable;
  }
  return {
    variables: {},
    light,
    dark: {
      "--mantine-color-dimmed": "var(--mantine-color-dark-1)",
      "--mantine-color-anchor": "var(--mantine-color-indigo-4)",
    },
  };
};
