import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { clientConnectionOptions, temporalConnectionSettings, workerConnectionOptions } from './temporal-connection.js';

/**
 * The Temporal connection from configuration (issue #13). The dev server has no TLS options, so
 * the TLS path is tested through a TLS terminator in front of it (Node `tls`, ALPN h2, each socket
 * piped to the dev server's plain port), with a CA, server and client certificates made by
 * `openssl` for this file. The API key is checked on the wire by a TLS HTTP/2 endpoint that records
 * the `authorization` header of the gRPC call and answers UNAUTHENTICATED.
 */
const SERVER_NAME = 'temporal.test';
let dir: string;
const paths = {
  ca: '', serverCert: '', serverKey: '', clientCa: '', clientCert: '', clientKey: '',
};

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, and a leaf certificate it signs (EC P-256; SAN and EKU as rustls and grpc-js want them). */
function makeCa(name: string) {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}
function makeLeaf(name: string, ca: string, ext: string) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

interface Endpoint { address: string; close(): Promise<void> }

/** Terminates TLS (optionally requiring a client certificate) and pipes each socket to `target`. */
async function tlsTerminator(target: string, options: tls.TlsOptions = {}): Promise<Endpoint> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert), ALPNProtocols: ['h2'], ...options,
  }, (socket) => {
    const upstream = net.connect(Number(port), host);
    sockets.add(socket).add(upstream);
    socket.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
    upstream.on('error', () => socket.destroy()).on('close', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  server.on('tlsClientError', () => undefined);
  server.on('connection', (socket: net.Socket) => sockets.add(socket));
  return listen(server, sockets);
}

async function listen(server: net.Server, sockets: Set<net.Socket>): Promise<Endpoint> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Env for a connection through `endpoint`, verified against the test CA under SERVER_NAME. */
function tlsEnv(endpoint: Endpoint, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test', TEMPORAL_ADDRESS: endpoint.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: paths.ca, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME, ...extra,
  };
}

/** Connects (the SDK's connect also calls GetSystemInfo), lists a workflow page, closes. */
async function listThrough(env: Record<string, string>) {
  const config = loadConfig(env);
  const connection = await Connection.connect(clientConnectionOptions(config, { connectTimeout: 3_000, interceptors: [] }));
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const info = await connection.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE });
    for await (const _ of client.workflow.list({ pageSize: 1 })) break;
    return info.namespaceInfo?.name;
  } finally {
    await connection.close();
  }
}

let devServer: string;
const endpoints: Endpoint[] = [];
beforeAll(() => {
  devServer = inject('temporalAddress');
  dir = mkdtempSync(join(tmpdir(), 'steadfast-tls-'));
  makeCa('ca');
  makeLeaf('server', 'ca', `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  makeCa('client-ca');
  makeLeaf('client', 'client-ca', 'extendedKeyUsage=clientAuth\n');
  Object.assign(paths, {
    ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key'),
    clientCa: join(dir, 'client-ca.pem'), clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key'),
  });
});
afterAll(async () => {
  await Promise.all(endpoints.map((e) => e.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Temporal connection configuration', () => {
  it('defaults to plain TCP to TEMPORAL_ADDRESS, without an API key', () => {
    const config = loadConfig({});
    expect(temporalConnectionSettings(config)).toEqual({ address: '127.0.0.1:7233', tls: false });
    expect(clientConnectionOptions(config, { connectTimeout: 1_000 })).toEqual({ address: '127.0.0.1:7233', tls: false, connectTimeout: 1_000 });
  });

  it('any TLS option turns TLS on; TEMPORAL_TLS=true alone gives TLS with the system CAs', () => {
    expect(temporalConnectionSettings(loadConfig({ TEMPORAL_TLS: 'true' })).tls).toEqual({});
    expect(temporalConnectionSettings(loadConfig({ TEMPORAL_TLS_SERVER_NAME: 'x.example' })).tls).toEqual({ serverNameOverride: 'x.example' });
  });

  it('reads the CA and the client pair from files or inline PEM data', () => {
    const fromFiles = temporalConnectionSettings(loadConfig({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: paths.ca, TEMPORAL_TLS_CLIENT_CERT_PATH: paths.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: paths.clientKey,
    }));
    expect(fromFiles.tls).toEqual({
      serverRootCACertificate: readFileSync(paths.ca),
      clientCertPair: { crt: readFileSync(paths.clientCert), key: readFileSync(paths.clientKey) },
    });
    const inline = temporalConnectionSettings(loadConfig({
      TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT\\nLINE', TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY',
    }));
    expect(inline.tls).toEqual({ clientCertPair: { crt: Buffer.from('CERT\nLINE'), key: Buffer.from('KEY') } });
  });

  it('an unreadable certificate file fails with the variable’s name', () => {
    const config = loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') });
    expect(() => temporalConnectionSettings(config)).toThrow(/TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read .*ENOENT/);
  });

  it('an API key implies TLS and is passed to both connection kinds, unless TEMPORAL_TLS=false', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-1' });
    expect(clientConnectionOptions(config)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'key-1' });
    expect(workerConnectionOptions(config)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'key-1' });
    expect(clientConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'key-1', TEMPORAL_TLS: 'false' })))
      .toEqual({ address: '127.0.0.1:7233', tls: false, apiKey: 'key-1' });
  });

  it.each([
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' }, /TEMPORAL_TLS_CLIENT_KEY_PATH: a client certificate needs its private key/],
    [{ TEMPORAL_TLS_CLIENT_KEY_DATA: 'k' }, /TEMPORAL_TLS_CLIENT_CERT_PATH: a client private key needs its certificate/],
    [{ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/ca.pem', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'x' }, /not both/],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_NAME: 'x' }, /TEMPORAL_TLS: is false but TEMPORAL_TLS_SERVER_NAME is set/],
    [{ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: not supported/],
    [{ TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS/],
  ])('rejects %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('TLS through a terminator in front of the dev server', () => {
  let plainTls: Endpoint;
  let mutualTls: Endpoint;
  beforeAll(async () => {
    plainTls = await tlsTerminator(devServer);
    mutualTls = await tlsTerminator(devServer, { requestCert: true, rejectUnauthorized: true, ca: readFileSync(paths.clientCa) });
    endpoints.push(plainTls, mutualTls);
  });

  it('a client with the server CA and server name connects over TLS and lists workflows', async () => {
    expect(await listThrough(tlsEnv(plainTls))).toBe('default');
  });

  it('a client without the server CA (system CAs only) is refused', async () => {
    await expect(listThrough({ TEMPORAL_ADDRESS: plainTls.address, TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: SERVER_NAME })).rejects.toThrow();
  });

  it('a plain-TCP client cannot talk to the TLS endpoint (the defaults really are plain)', async () => {
    await expect(listThrough({ TEMPORAL_ADDRESS: plainTls.address })).rejects.toThrow();
  });

  it('mTLS: with the client certificate and key it works, without them it is refused', async () => {
    const pair = { TEMPORAL_TLS_CLIENT_CERT_PATH: paths.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: paths.clientKey };
    expect(await listThrough(tlsEnv(mutualTls, pair))).toBe('default');
    await expect(listThrough(tlsEnv(mutualTls))).rejects.toThrow();
  });

  it('a worker-side NativeConnection connects through mTLS, and is refused without the CA', async () => {
    const config = loadConfig(tlsEnv(mutualTls, { TEMPORAL_TLS_CLIENT_CERT_PATH: paths.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: paths.clientKey }));
    const connection = await NativeConnection.connect(workerConnectionOptions(config));
    try {
      const info = await connection.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE });
      expect(info.namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
    const noCa = loadConfig({ TEMPORAL_ADDRESS: plainTls.address, TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
    await expect(NativeConnection.connect(workerConnectionOptions(noCa))).rejects.toThrow();
  });

  it('the API key goes on the wire as `authorization: Bearer …`, over TLS, from both connection kinds', async () => {
    const seen: (string | undefined)[] = [];
    const sockets = new Set<net.Socket>();
    const server = http2.createSecureServer({ key: readFileSync(paths.serverKey), cert: readFileSync(paths.serverCert) });
    server.on('stream', (stream, headers) => {
      seen.push(headers.authorization);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'test' }, { endStream: true });
    });
    server.on('connection', (socket: net.Socket) => sockets.add(socket));
    const endpoint = await listen(server, sockets);
    endpoints.push(endpoint);
    const config = loadConfig(tlsEnv(endpoint, { TEMPORAL_API_KEY: 'test-api-key-1' }));

    await expect(Connection.connect(clientConnectionOptions(config, { connectTimeout: 3_000, interceptors: [] }))).rejects.toThrow();
    expect(seen).toContain('Bearer test-api-key-1');
    seen.length = 0;
    await expect(NativeConnection.connect(workerConnectionOptions(config))).rejects.toThrow();
    expect(seen).toContain('Bearer test-api-key-1');
  });
});
