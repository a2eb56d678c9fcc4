/**
 * IP addresses. Candidates are extracted with two linear regexes and then
 * confirmed by node:net isIP, so only syntactically valid addresses match.
 * Invariants: dotted quads inside longer dotted runs (versions like
 * 1.2.3.4.5, OIDs) are not IPs; IPv6 needs "::" or eight groups and at least
 * six characters, so C++ "a::b", times (12:30:45) and MACs do not match.
 */
import { isIP } from "node:net";
import type { Detector } from "../types.js";
import { collect } from "./util.js";

const V4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g;
const V6 = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)/g;

export const ipDetector: Detector = {
  id: "ip",
  maxLength: 45,
  scan(text) {
    const out = text.includes(".")
      ? collect(text, V4, "ip", (m) =>
          isIP(m[0]) === 4 ? { start: m.index, end: m.index + m[0].length, subtype: "ipv4" } : null,
        )
      : [];
    if (text.includes(":")) {
      const v6 = collect(text, V6, "ip", (m) => {
        const s = m[0];
        if (s.length < 6 || isIP(s) !== 6) return null;
        if (!s.includes("::") && s.split(":").length !== 8) return null;
        if ((s.match(/[0-9A-Fa-f]+/g) ?? []).length < 2) return null;
        return { start: m.index, end: m.index + s.length, subtype: "ipv6" };
      });
      if (v6.length) {
        // "::ffff:10.0.0.1" is one address, not an IPv6 plus an IPv4.
        const kept = out.filter((a) => !v6.some((b) => a.start >= b.start && a.end <= b.end));
        return [...kept, ...v6].sort((a, b) => a.start - b.start);
      }
    }
    return out;
  },
};
