/**
 * The PII detector registry. Invariant: DETECTOR_PRIORITY orders types from
 * most to least specific; when matches of two types overlap, the earlier type
 * wins (a Luhn-valid card beats a phone-looking digit run, an IBAN beats the
 * digits inside it).
 */
import type { Detector, PiiType } from "../types.js";
import { cardDetector } from "./card.js";
import { emailDetector } from "./email.js";
import { ibanDetector } from "./iban.js";
import { ipDetector } from "./ip.js";
import { phoneDetector } from "./phone.js";
import { secretsDetector } from "./secrets.js";
import { ssnDetector } from "./ssn.js";

export const PII_DETECTORS: Readonly<Record<PiiType, Detector>> = {
  secret: secretsDetector,
  card: cardDetector,
  iban: ibanDetector,
  ssn: ssnDetector,
  email: emailDetector,
  ip: ipDetector,
  phone: phoneDetector,
};

export const DETECTOR_PRIORITY: readonly PiiType[] = ["secret", "card", "iban", "ssn", "email", "ip", "phone"];
