// Issue 8, point 8: the controller reaches RDS over TLS and verifies it. The pg stack treats
// `sslmode=require` as verify-full, and Node does not trust Amazon's RDS CAs, so the program
// ships the region's RDS CA bundle (a ConfigMap mounted into the controller) and DATABASE_URL
// says `sslmode=verify-full&sslrootcert=<that file>`. The last tests run the controller's own pg
// client against a TLS endpoint that speaks PostgreSQL's SSLRequest: it connects when the
// certificate chains to the bundle and names the host, and refuses otherwise.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import pg from 'pg';
import { checkCaBundle, rdsCaBundleUrl } from '../../infra/components/rdsCaBundle.ts';
import { DATABASE_CA_DIR, DATABASE_CA_FILE } from '../../infra/manifests/platform.ts';
import { TEST_RDS_CA } from './harness.ts';
import { k8sObject, stackRun, type Obj } from './runs.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const SERVER_CERT = fixture('rds-test-server.pem');
const SERVER_KEY = fixture('rds-test-server.key');
const SSL_REQUEST = 80877103;

/** Answers PostgreSQL's SSLRequest with 'S' and completes a TLS handshake as `localhost`. */
async function tlsPostgres(): Promise<{ port: number; handshakes: () => number; server: Server }> {
  let handshakes = 0;
  const server = createServer((socket) => {
    socket.once('data', (request) => {
      assert.equal(request.readInt32BE(4), SSL_REQUEST);
      socket.write('S');
      const tls = new TLSSocket(socket, { isServer: true, key: SERVER_KEY, cert: SERVER_CERT });
      tls.on('secure', () => {
        handshakes += 1;
        tls.destroy();
      });
      tls.on('error', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    handshakes: () => handshakes,
    server,
  };
}

/** What the controller's pg client says when it opens DATABASE_URL. */
async function connectError(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('issue 8.8: the controller verifies PostgreSQL on RDS against the RDS CAs', function () {
  this.timeout(60_000);
  let url: string;

  before(async () => {
    const run = await stackRun('prod');
    url = (
      k8sObject(run, 'kubernetes:core/v1:Secret', 'mcpfleet-postgres').inputs.stringData as Obj
    ).url as string;
  });

  it("prod: downloads the region's bundle from the RDS trust store and ships it to the controller", async () => {
    const run = await stackRun('prod');
    assert.deepEqual(run.fetched, [rdsCaBundleUrl('eu-west-1')]);
    assert.equal(
      rdsCaBundleUrl('eu-west-1'),
      'https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem',
    );
    const configMap = k8sObject(run, 'kubernetes:core/v1:ConfigMap', 'mcpfleet-database-ca');
    assert.equal((configMap.inputs.data as Obj)['ca.pem'], TEST_RDS_CA);
    const pod = (
      k8sObject(run, 'kubernetes:apps/v1:Deployment', 'mcpfleet-controller').inputs.spec as Obj
    ).template.spec;
    assert.deepEqual(
      pod.volumes.find((v: Obj) => v.name === 'database-ca'),
      { name: 'database-ca', configMap: { name: 'mcpfleet-database-ca' } },
    );
    assert.deepEqual(
      pod.containers[0].volumeMounts.find((m: Obj) => m.name === 'database-ca'),
      { name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true },
    );
    assert.match(url, new RegExp(`\\?sslmode=verify-full&sslrootcert=${DATABASE_CA_FILE}$`));
  });

  it('local and dev (in-cluster PostgreSQL): no TLS, no bundle', async () => {
    for (const stack of ['local', 'dev'] as const) {
      const run = await stackRun(stack);
      assert.deepEqual(run.fetched, []);
      const secret = k8sObject(run, 'kubernetes:core/v1:Secret', 'mcpfleet-postgres');
      assert.match((secret.inputs.stringData as Obj).url, /\?sslmode=disable$/);
    }
  });

  it('refuses a bundle that is not CA certificates', () => {
    assert.throws(() => checkCaBundle('<html>not found</html>', 'x'), /x: no PEM certificate/);
    assert.throws(() => checkCaBundle(SERVER_CERT, 'x'), /x: CN=localhost is not a CA/);
    assert.equal(checkCaBundle(TEST_RDS_CA, 'x'), TEST_RDS_CA);
  });

  describe('the DATABASE_URL as the controller opens it', () => {
    let endpoint: Awaited<ReturnType<typeof tlsPostgres>>;
    let bundle: string;
    before(async () => {
      endpoint = await tlsPostgres();
      bundle = join(mkdtempSync(join(tmpdir(), 'mcpfleet-ca-')), 'ca.pem');
      writeFileSync(bundle, TEST_RDS_CA);
    });
    after(() => endpoint.server.close());
    // The shipped URL, pointed at the local endpoint and at the bundle's copy on this machine.
    const at = (host: string, u = url) =>
      u.replace(/@[^/]+\//, `@${host}:${endpoint.port}/`).replace(DATABASE_CA_FILE, bundle);

    it('completes the TLS handshake with a server whose certificate chains to the bundle and names the host', async () => {
      const before = endpoint.handshakes();
      const message = await connectError(at('localhost'));
      assert.doesNotMatch(message, /certificate|altname|self.signed/i, message);
      assert.equal(endpoint.handshakes(), before + 1);
    });

    it('refuses the same certificate under another host name (verify-full)', async () => {
      assert.match(
        await connectError(at('127.0.0.1')),
        /IP: 127\.0\.0\.1 is not in the cert's list/,
      );
    });

    it('refuses it without the bundle: what sslmode=require alone did', async () => {
      const required = url.replace(/\?.*$/, '?sslmode=require');
      assert.match(
        await connectError(at('localhost', required)),
        /unable to verify the first certificate|self.signed certificate|unable to get local issuer/i,
      );
    });
  });
});
