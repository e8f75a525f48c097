// Throwaway PKI for one test control plane, made with the openssl CLI: certificate authorities
// (ECDSA P-256, valid one week, as envtest's tinyca), serving and client certificates signed by
// them, and the service-account token key pair.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

const DAYS = '7';

export interface KeyPair {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  /** File stem inside `dir`: writes `<name>.crt` and `<name>.key`. */
  name: string;
  commonName: string;
  /** Organizations: the groups of a client certificate. */
  organizations?: string[];
  /** DNS names and IP addresses for a serving certificate. */
  hosts?: string[];
  usage: 'server' | 'client';
}

function openssl(args: string[], input?: string): string {
  try {
    return execFileSync('openssl', args, {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('certificates: the `openssl` command is not installed.', { cause: error });
    }
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`certificates: \`openssl ${args.join(' ')}\` failed: ${stderr}`, {
      cause: error,
    });
  }
}

/** An ECDSA P-256 private key in PKCS#8 PEM, which Go and Node both read. */
function ecKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

function subject(commonName: string, organizations: string[] = []): string {
  const escape = (value: string) => value.replace(/[\\/+=,]/g, (c) => `\\${c}`);
  return [...organizations.map((o) => `/O=${escape(o)}`), `/CN=${escape(commonName)}`].join('');
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return `0x${bytes.toString('hex')}`;
}

export class CertificateAuthority {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  private readonly dir: string;

  private constructor(dir: string, name: string) {
    this.dir = dir;
    this.certPath = join(dir, `${name}.crt`);
    this.keyPath = join(dir, `${name}.key`);
    this.certPem = readFileSync(this.certPath, 'utf8');
  }

  /** A new self-signed CA written to `<dir>/<name>.crt` and `.key`. */
  static create(dir: string, name: string, commonName: string): CertificateAuthority {
    const keyPath = join(dir, `${name}.key`);
    writeFileSync(keyPath, ecKey(), { mode: 0o600 });
    const config = join(dir, `${name}.cnf`);
    writeFileSync(
      config,
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        '[ca]',
        'basicConstraints = critical,CA:TRUE',
        'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
    );
    openssl([
      'req',
      '-x509',
      '-new',
      '-config',
      config,
      '-extensions',
      'ca',
      '-key',
      keyPath,
      '-subj',
      subject(commonName),
      '-days',
      DAYS,
      '-set_serial',
      serial(),
      '-out',
      join(dir, `${name}.crt`),
    ]);
    return new CertificateAuthority(dir, name);
  }

  /** A certificate signed by this CA, written to `<dir>/<name>.crt` and `.key`. */
  issue(request: CertificateRequest): KeyPair {
    const keyPem = ecKey();
    const keyPath = join(this.dir, `${request.name}.key`);
    const certPath = join(this.dir, `${request.name}.crt`);
    const extPath = join(this.dir, `${request.name}.ext`);
    writeFileSync(keyPath, keyPem, { mode: 0o600 });
    const extensions = [
      '[leaf]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${request.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    ];
    const hosts = request.hosts ?? [];
    if (hosts.length > 0) {
      const names = hosts.map((host) => (isIP(host) ? `IP:${host}` : `DNS:${host}`));
      extensions.push(`subjectAltName = ${names.join(',')}`);
    }
    writeFileSync(extPath, `${extensions.join('\n')}\n`);
    const csr = openssl([
      'req',
      '-new',
      '-key',
      keyPath,
      '-subj',
      subject(request.commonName, request.organizations),
    ]);
    openssl(
      [
        'x509',
        '-req', // the request comes on stdin
        '-CA',
        this.certPath,
        '-CAkey',
        this.keyPath,
        '-set_serial',
        serial(),
        '-days',
        DAYS,
        '-extfile',
        extPath,
        '-extensions',
        'leaf',
        '-out',
        certPath,
      ],
      csr,
    );
    return { certPath, keyPath, certPem: readFileSync(certPath, 'utf8'), keyPem };
  }
}

/** The service-account token signing key (RSA, PKCS#8) and its public key, as PEM files. */
export function createServiceAccountKeys(dir: string): {
  privateKeyPath: string;
  publicKeyPath: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPath = join(dir, 'service-account.key');
  const publicKeyPath = join(dir, 'service-account.pub');
  writeFileSync(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKeyPath, publicKeyPath };
}
