/**
 * Generates umami_user's password for the local mode and for `--rotate-password`, following the same
 * policy as the stack's `random.RandomPassword` (`PASSWORD_POLICY` in the spec). The server only ever
 * receives its SCRAM verifier (`sst/database/scram.ts`).
 */
import { randomBytes } from "node:crypto";
import { PASSWORD_POLICY } from "../../sst/database/spec.js";

/**
 * A password of `PASSWORD_POLICY.length` characters from `[A-Za-z0-9-_]`: base64url of random bytes, whose
 * 64-letter alphabet is exactly letters, digits and the policy's two specials, so every character is uniform.
 */
export function generatePassword(length: number = PASSWORD_POLICY.length): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString("base64url")
    .slice(0, length);
}
