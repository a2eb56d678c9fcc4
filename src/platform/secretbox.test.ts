import { describe, expect, it } from "vitest";
import { createSecretBox } from "./secretbox.js";

const box = createSecretBox("a-secret-of-at-least-32-characters-long!!");

describe("secretbox", () => {
  it("round-trips and never contains the plaintext", () => {
    const sealed = box.seal("sk-live-abcdef123456", "org1:prov1");
    expect(sealed).not.toContain("sk-live");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(box.open(sealed, "org1:prov1")).toBe("sk-live-abcdef123456");
  });

  it("refuses a ciphertext moved to another organization or row", () => {
    const sealed = box.seal("sk-secret", "orgA:prov1");
    expect(() => box.open(sealed, "orgB:prov1")).toThrow(/could not be read/);
    expect(() => box.open(sealed, "orgA:prov2")).toThrow(/could not be read/);
  });

  it("refuses tampered ciphertext and another instance secret", () => {
    const sealed = box.seal("sk-secret", "o:p");
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 0xff; // always a different byte
    parts[3] = body.toString("base64url");
    expect(() => box.open(parts.join("."), "o:p")).toThrow();
    expect(() => createSecretBox("another-secret-of-at-least-32-characters").open(sealed, "o:p")).toThrow();
  });

  it("uses a fresh nonce for every encryption (1e5 samples)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(box.seal("x", "c").split(".")[2]!);
    expect(seen.size).toBe(100_000);
  });
});
