/**
 * Masking of matched values, used both for the "mask" action and for finding
 * excerpts. Invariants: the output never contains the whole value; secrets keep
 * at most a public prefix and the last 4 characters (and nothing for short
 * ones); output is bounded to ~64 chars.
 */

const SECRET_PREFIX =
  /^(?:-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|tg_(?:live|test)_|sk-ant-|sk-proj-|sk-|gh[pousr]_|github_pat_|xox[a-z]-|xapp-|(?:sk|rk)_(?:live|test)_|whsec_|AKIA|ASIA|AIza|eyJ)/;

function starDigits(value: string, keepLast: number): string {
  let seen = 0;
  const total = value.replace(/\D/g, "").length;
  let out = "";
  for (const ch of value) {
    if (ch >= "0" && ch <= "9") {
      seen++;
      out += seen > total - keepLast ? ch : "*";
    } else out += ch;
  }
  return out;
}

function maskSecret(value: string): string {
  if (value.startsWith("-----BEGIN")) return `${SECRET_PREFIX.exec(value)?.[0] ?? "-----BEGIN PRIVATE KEY-----"}[…]`;
  const prefix = SECRET_PREFIX.exec(value)?.[0] ?? "";
  if (value.length < 16) return `${prefix}…`;
  return `${prefix}…${value.slice(-4)}`;
}

function maskEmail(value: string): string {
  const at = value.lastIndexOf("@");
  const domain = value.slice(at + 1);
  return `${value[0]}***@${domain.length > 48 ? `…${domain.slice(-40)}` : domain}`;
}

function maskIban(value: string): string {
  const compact = value.replace(/ /g, "");
  return `${compact.slice(0, 2)}${"*".repeat(Math.max(0, compact.length - 6))}${compact.slice(-4)}`;
}

function maskIp(value: string): string {
  if (value.includes(":")) return `${value.split(":")[0]}:****:…`;
  const [first] = value.split(".");
  return `${first}.*.*.*`;
}

/** Generic: first and last character around stars; short values become stars. */
export function maskGeneric(value: string): string {
  const chars = [...value];
  if (chars.length <= 4) return "*".repeat(chars.length);
  const stars = "*".repeat(Math.min(chars.length - 2, 8));
  return chars[0] + stars + chars[chars.length - 1];
}

export function maskValue(type: string, value: string): string {
  switch (type) {
    case "email":
      return maskEmail(value);
    case "phone":
      return starDigits(value, 2);
    case "card":
      return starDigits(value, 4);
    case "ssn":
      return starDigits(value, 4);
    case "iban":
      return maskIban(value);
    case "ip":
      return maskIp(value);
    case "secret":
      return maskSecret(value);
    default:
      return maskGeneric(value);
  }
}
