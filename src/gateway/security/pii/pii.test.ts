import { describe, expect, it } from "vitest";
import type { Detector } from "../types.js";
import { cardDetector, luhnValid } from "./card.js";
import { emailDetector } from "./email.js";
import { ibanChecksumValid, ibanDetector } from "./iban.js";
import { ipDetector } from "./ip.js";
import { phoneDetector } from "./phone.js";
import { secretsDetector } from "./secrets.js";
import { ssnDetector } from "./ssn.js";

const found = (d: Detector, text: string) => d.scan(text).map((m) => text.slice(m.start, m.end));
// Secret fixtures are assembled at run time so no literal token sits in the repo.
const j = (...p: string[]) => p.join("");
const b62 = (n: number, seed = 7) =>
  Array.from({ length: n }, (_, i) => "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xYz"[(i * seed) % 33]).join("");

describe("email", () => {
  it.each([
    ["mail jane.doe@example.com please", "jane.doe@example.com"],
    ["<j_smith+tag@mail.co.uk>", "j_smith+tag@mail.co.uk"],
    ["end of sentence: a.b@sub.example.org.", "a.b@sub.example.org"],
  ])("finds %s", (text, want) => expect(found(emailDetector, text)).toEqual([want]));
  it.each(["user@localhost", "see @mention here", "a@b.c", "foo@@bar.com", "version 1.2@3.4", "file@2x.png"])(
    "ignores %s",
    (text) => expect(found(emailDetector, text)).toEqual([]),
  );
});

describe("phone", () => {
  it.each([
    ["call +1 415 555 2671 now", "+1 415 555 2671"],
    ["UK office: +44 20 7946 0958.", "+44 20 7946 0958"],
    ["Berlin +49 (30) 901820", "+49 (30) 901820"],
    ["US (555) 123-4567 today", "(555) 123-4567"],
    ["fax 555.123.4567", "555.123.4567"],
    ["French mobile 06 12 34 56 78", "06 12 34 56 78"],
    ["phone: 4155552671", "4155552671"],
    ["dial 0044 20 7946 0958", "0044 20 7946 0958"],
  ])("finds %s", (text, want) => expect(found(phoneDetector, text)).toEqual([want]));
  it.each([
    "the years 2019 2020 2021 were odd",
    "it costs $1,234,567.89 total",
    "population 1.000.000.000 people",
    "version 10.15.7 and 1.2.3.4.5",
    "server at 192.168.100.200",
    "order id 123456789012",
    "meeting 2024-03-15 at 10:30",
    "ratio 3/4 and 12%",
    "call me at 12 o'clock",
    "pi is 3.14159265358979",
  ])("ignores %s", (text) => expect(found(phoneDetector, text)).toEqual([]));
});

describe("card", () => {
  it.each([
    ["visa 4111 1111 1111 1111 exp", "4111 1111 1111 1111"],
    ["mc 5555-5555-5555-4444", "5555-5555-5555-4444"],
    ["amex 378282246310005.", "378282246310005"],
    ["discover 6011111111111117", "6011111111111117"],
  ])("finds %s", (text, want) => expect(found(cardDetector, text)).toEqual([want]));
  it.each([
    "4111 1111 1111 1112", // Luhn fails
    "0000 0000 0000 0000", // repeated digit
    "1234567812345670", // Luhn ok, no issuer
    "4111-1111 1111-1111", // mixed separators
    "tracking 9400100000000000000000",
  ])("ignores %s", (text) => expect(found(cardDetector, text)).toEqual([]));
  it("implements Luhn", () => {
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
  });
});

describe("ssn", () => {
  it.each([
    ["ssn 123-45-6789.", "123-45-6789"],
    ["id 078 05 1121 x", "078 05 1121"],
    ["my social security number is 219099999", "219099999"],
  ])("finds %s", (text, want) => expect(found(ssnDetector, text)).toEqual([want]));
  it.each([
    "000-12-3456",
    "666-12-3456",
    "912-34-5678",
    "123-00-4567",
    "123-45-0000",
    "plain 219099999 without context",
    "123-45 6789",
    "2024-01-1234",
  ])("ignores %s", (text) => expect(found(ssnDetector, text)).toEqual([]));
});

describe("iban", () => {
  it.each([
    ["pay DE89 3704 0044 0532 0130 00 by friday", "DE89 3704 0044 0532 0130 00"],
    ["GB82WEST12345698765432", "GB82WEST12345698765432"],
    ["FR14 2004 1010 0505 0001 3M02 606.", "FR14 2004 1010 0505 0001 3M02 606"],
  ])("finds %s", (text, want) => expect(found(ibanDetector, text)).toEqual([want]));
  it.each(["DE89 3704 0044 0532 0130 01", "XX89370400440532013000", "DE89 3704 0044 0532 0130", "ID12 3456 7890 1234"])(
    "ignores %s",
    (text) => expect(found(ibanDetector, text)).toEqual([]),
  );
  it("checks mod-97", () => expect(ibanChecksumValid("GB82WEST12345698765432")).toBe(true));
});

describe("ip", () => {
  it.each([
    ["host 10.0.0.1 down", "10.0.0.1"],
    ["from 2001:db8:85a3::8a2e:370:7334.", "2001:db8:85a3::8a2e:370:7334"],
    ["mapped ::ffff:192.168.1.1 here", "::ffff:192.168.1.1"],
    ["full 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329"],
  ])("finds %s", (text, want) => expect(found(ipDetector, text)).toEqual([want]));
  it.each([
    "999.1.1.1",
    "version 1.2.3.4.5",
    "std::vector<int>",
    "at 12:30:45",
    "mac 00:1A:2B:3C:4D:5E",
    "v1.2.3.4",
    "a::b",
  ])("ignores %s", (text) => expect(found(ipDetector, text)).toEqual([]));
});

describe("secrets", () => {
  const jwtHead = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url");
  const jwtBody = Buffer.from('{"sub":"123","name":"Jo"}').toString("base64url");
  const cases: Array<[string, string]> = [
    ["aws_access_key_id", j("AKIA", "IOSFODNN7", "EXAMPLE")],
    ["google_api_key", j("AIza", "SyD", b62(32))],
    ["github_token", j("ghp_", b62(36))],
    ["github_token", j("github_", "pat_", b62(22), "_", b62(59, 5))],
    ["slack_token", j("xox", "b-", "1234567890", "-", b62(24))],
    ["stripe_key", j("sk_", "live_", b62(24))],
    ["stripe_key", j("rk_", "live_", b62(24))],
    ["openai_key", j("sk-", b62(48))],
    ["openai_key", j("sk-", "proj-", b62(100))],
    ["anthropic_key", j("sk-", "ant-", "api03-", b62(93))],
    ["tollgate_key", j("tg_", "live_", b62(49))],
    ["tollgate_key", j("tg_", "test_", b62(49, 11))],
    ["jwt", `${jwtHead}.${jwtBody}.${b62(43)}`],
    ["private_key", `-----BEGIN RSA PRIVATE KEY-----\n${b62(64)}\n${b62(64, 3)}\n-----END RSA PRIVATE KEY-----`],
  ];
  it.each(cases)("finds %s", (subtype, secret) => {
    const ms = secretsDetector.scan(`token: ${secret} (keep safe)`);
    expect(ms).toHaveLength(1);
    expect(ms[0]!.subtype).toBe(subtype);
    expect(`token: ${secret} (keep safe)`.slice(ms[0]!.start, ms[0]!.end)).toBe(secret);
  });
  it("finds an AWS secret access key only after its label", () => {
    const v = b62(40);
    const ms = secretsDetector.scan(`aws_secret_access_key = ${v}`);
    expect(ms.map((m) => m.subtype)).toEqual(["aws_secret_access_key"]);
    expect(secretsDetector.scan(`random ${v}`)).toEqual([]);
  });
  it.each([
    ["a task-management-system-dashboard-component", "no sk- prefix at a word start"],
    ["sk-learn-is-a-python-library-for-ml", "no digits"],
    [j("tg_", "live_", b62(20)), "tg key too short"],
    ["eyJub3QiOiJhIGp3dCJ9.eyJhIjoxfQ.c2ln", "header without alg"],
    ["-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", "public key"],
    [j("ghp_", "short"), "short github token"],
    ["AKIA lowercase akiaiosfodnn7example", "not an access key"],
  ])("ignores %s (%s)", (text) => expect(secretsDetector.scan(text)).toEqual([]));
  it("reports where an unfinished PEM block or JWT starts", () => {
    expect(secretsDetector.incompleteTail!("x -----BEGIN PRIVATE KEY-----\nMIIE")).toBe(2);
    expect(secretsDetector.incompleteTail!(`Bearer ${jwtHead}.${jwtBody.slice(0, 5)}`)).toBe(7);
    expect(secretsDetector.incompleteTail!("plain words only")).toBe(-1);
  });
});
