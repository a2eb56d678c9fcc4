/**
 * Encryption of stored secrets (custom providers' API keys): AES-256-GCM with a
 * random 96-bit nonce per encryption and a key derived from TOLLGATE_SECRET by
 * HKDF-SHA256. The caller's context (organization id + row id) is bound as
 * additional authenticated data, so a ciphertext copied into another row or
 * organization fails to decrypt. The payload names its key id, so the key can
 * be rotated later: `v1.<keyId>.<nonce>.<ciphertext>.<tag>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { appError } from "./errors.js";

const KEY_ID = "k1";

export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(payload: string, context: string): string;
}

export function createSecretBox(secret: string): SecretBox {
  const keys = new Map<string, Buffer>([
    [KEY_ID, Buffer.from(hkdfSync("sha256", secret, "tollgate", `secretbox v1 ${KEY_ID}`, 32))],
  ]);
  return {
    seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", keys.get(KEY_ID)!, nonce);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return [
        "v1",
        KEY_ID,
        nonce.toString("base64url"),
        ct.toString("base64url"),
        cipher.getAuthTag().toString("base64url"),
      ].join(".");
    },
    open(payload, context) {
      const [version, keyId, nonce, ct, tag] = payload.split(".");
      const key = keyId ? keys.get(keyId) : undefined;
      if (version !== "v1" || !key || nonce === undefined || ct === undefined || tag === undefined) {
        throw appError("SECRET_UNREADABLE");
      }
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64url"));
        decipher.setAAD(Buffer.from(context, "utf8"));
        decipher.setAuthTag(Buffer.from(tag, "base64url"));
        return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
      } catch {
        throw appError("SECRET_UNREADABLE", "A stored secret could not be read (wrong key or moved between records).");
      }
    },
  };
}
