/**
 * umami-db's own message for a certificate it cannot verify: every code of the handoff's missing-CA family
 * (NODE_PG_MISSING_CA — which one depends on what the server sends) names the same remedy, the CA bundle by
 * each way this tool reads it. Real node-pg against real servers: test/integration/container/umami-tls.test.ts.
 */
import { describe, expect, it } from "vitest";
import { NODE_PG_MISSING_CA, NODE_PG_WRONG_HOST } from "../../../sst/database/secret.js";
import {
  CA_BUNDLE_REMEDY,
  ConnectionError,
  describeConnectFailure,
  parseDatabaseUrl,
} from "../../../scripts/kernel/db.js";

const settings = parseDatabaseUrl(
  "postgresql://umami_user:Secret-Pw-123@db.cluster-x.us-east-1.rds.amazonaws.com:5432/app?sslmode=verify-full",
);
/** What Node's TLS socket rejects with: an Error carrying OpenSSL's verify code. */
const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("describeConnectFailure for a certificate", () => {
  it("names the CA bundle (--ca-file, UMAMI_CA_FILE, NODE_EXTRA_CA_CERTS) for each code of the missing-CA family", () => {
    expect(NODE_PG_MISSING_CA.map((e) => e.code)).toEqual([
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    ]);
    for (const e of [
      ...NODE_PG_MISSING_CA,
      { code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self-signed certificate" },
    ]) {
      const error = describeConnectFailure(settings, tlsError(e.code, e.message));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.code).toBe(e.code);
      expect(error.message).toBe(
        `The certificate of db.cluster-x.us-east-1.rds.amazonaws.com:5432 was not trusted (${e.message}, ${e.code}): it chains to a CA this tool was not given. ${CA_BUNDLE_REMEDY}`,
      );
    }
    expect(CA_BUNDLE_REMEDY).toBe(
      "Give this tool the CA bundle (RDS: https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem): --ca-file <path>, or UMAMI_CA_FILE=<path>, or NODE_EXTRA_CA_CERTS=<path> (sslrootcert=<path> in a URL does the same).",
    );
  });

  it("sends a certificate for another host name to the host name, not to the CA bundle", () => {
    const error = describeConnectFailure(
      settings,
      tlsError(
        NODE_PG_WRONG_HOST.code,
        `${NODE_PG_WRONG_HOST.messageStart}: Host: 10.0.0.5. is not in the cert's altnames: DNS:db.cluster-x.us-east-1.rds.amazonaws.com`,
      ),
    );
    expect(error.message).toContain("is for another host name");
    expect(error.message).toContain("never an IP address or a CNAME");
    expect(error.message).not.toContain("--ca-file");
  });
});
