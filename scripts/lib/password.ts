/**
 * Generates umami_user's password for the local mode and for `--rotate-password`, following the same
 * policy as the stack's `random.RandomPassword` (`PASSWORD_POLICY` in the spec).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { PASSWORD_POLICY } from "../../sst/database/spec.js";

/**
 * A password of `PASSWORD_POLICY.length` characters from `[A-Za-z0-9-_]`: base64url of random bytes, whose
 * 64-letter alphabet is exactly letters, digits and the policy's two specials, so every character is uniform.
 */
export function generatePassword(length: number = PASSWORD_POLICY.length): string {
  return randomBytes(Math.ceil((length * 3) / 4)).toString("base64url").slice(0, length);
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, as `psql`'s `\password` and
 * libpq's `PQencryptPasswordConn` build it). Provisioning sends the verifier instead of the password, so the
 * password never reaches the server's logs (`log_statement = ddl`) or `pg_stat_statements`, which records
 * `CREATE ROLE … PASSWORD '…'` verbatim. Login with the password works unchanged.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
