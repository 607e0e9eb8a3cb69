// Makes a throw-away certificate authority and a server certificate for 127.0.0.1 with openssl,
// for HTTPS tests (rustls refuses a self-signed CA certificate used as the server's own).
import { runToEnd } from "../../scripts/support/process.ts";

/** PEM files of a test CA and a server certificate it signed. */
export interface TestCertificate {
  /** CA certificate (PEM) the client trusts. */
  readonly ca: string;
  readonly caFile: string;
  /** Server certificate (PEM) and its private key. */
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly dir: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const output = await runToEnd("openssl", args, { cwd, stdout: "null" });
  if (!output.success) throw new Error(`openssl ${args[0]} failed: ${output.stderr}`);
}

/** Creates a CA and a server certificate (SAN 127.0.0.1, localhost) in a temporary directory. */
export async function makeCertificate(): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tls-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=gateway test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    "key.pem",
    "-out",
    "server.csr",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
    "-out",
    "cert.pem",
  ], dir);
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  return {
    ca: await read("ca.pem"),
    caFile: `${dir}/ca.pem`,
    cert: await read("cert.pem"),
    key: await read("key.pem"),
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    dir,
  };
}
