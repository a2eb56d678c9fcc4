/**
 * Email addresses. Invariants: local part starts with an alphanumeric, the
 * domain has at least one dot and an alphabetic TLD of 2–24 letters; whole
 * matches are at most 254 chars (RFC 5321), which is this detector's maxLength.
 */
import type { Detector } from "../types.js";
import { collect } from "./util.js";

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,6}[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])/g;

/** "icon@2x.png": asset names, not addresses (none of these is a real TLD). */
const FILE_SUFFIX = /\.(?:png|jpe?g|gif|svg|webp|ico|bmp|css|js|mjs|ts|tsx|json|map|txt)$/i;

export const emailDetector: Detector = {
  id: "email",
  maxLength: 254,
  scan(text) {
    if (!text.includes("@")) return [];
    return collect(text, EMAIL, "email", (m) =>
      m[0].length <= 254 && !FILE_SUFFIX.test(m[0]) ? { start: m.index, end: m.index + m[0].length } : null,
    );
  },
};
