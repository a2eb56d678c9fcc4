/**
 * US Social Security numbers. Invariants: AAA-GG-SSSS with one consistent
 * separator (dash or space), area 001–899 except 666, group 01–99, serial
 * 0001–9999; nine plain digits only right after "ssn"/"social security".
 */
import type { Detector } from "../types.js";
import { collect, contextHas } from "./util.js";

const SEPARATED = /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d]|-\d)/g;
const PLAIN = /(?<!\d)(\d{3})()(\d{2})(\d{4})(?!\d)/g;
const SSN_WORDS = /(?:ssn|social security|soc\. sec)/i;

function validParts(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== "00" && serial !== "0000";
}

export const ssnDetector: Detector = {
  id: "ssn",
  maxLength: 11,
  scan(text) {
    if (!/\d{4}/.test(text)) return [];
    const ok = (m: RegExpExecArray) =>
      validParts(m[1]!, m[3]!, m[4]!) ? { start: m.index, end: m.index + m[0].length } : null;
    const out = collect(text, SEPARATED, "ssn", ok);
    if (SSN_WORDS.test(text)) {
      out.push(...collect(text, PLAIN, "ssn", (m) => (contextHas(text, m.index, 40, SSN_WORDS) ? ok(m) : null)));
      out.sort((a, b) => a.start - b.start);
    }
    return out;
  },
};
