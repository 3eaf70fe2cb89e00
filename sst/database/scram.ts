/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as `psql`'s `\password` and
 * libpq's `PQencryptPasswordConn` build it). The stack and the local mode send the verifier instead of the
 * password, so the password never reaches the server's logs (`log_statement = ddl`) or `pg_stat_statements`,
 * which records `CREATE ROLE … PASSWORD '…'` verbatim (`docs/design.md` § "Facts measured while building it"). Login with the password
 * works unchanged: PostgreSQL stores a string of this shape as the role's verifier.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** PostgreSQL's default `scram_iterations`. */
const SCRAM_ITERATIONS = 4096;

/** The verifier for `password` with `salt` (16 random bytes unless given; give a stable one for a stable verifier). */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  // SASLprep is the identity for the generated passwords' alphabet (ASCII letters, digits, - and _).
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
