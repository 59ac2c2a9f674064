// TLS to Talos endpoints: mutual TLS against the cluster CA, or, for a node in
// maintenance mode, a self-signed certificate accepted by SPKI fingerprint pin.
import type { SecureClientSessionOptions } from "node:http2";
import { isIP } from "node:net";
import { Duplex } from "node:stream";
import {
  type ConnectionOptions,
  checkServerIdentity,
  type PeerCertificate,
  connect as tlsConnect,
} from "node:tls";
import { spkiFingerprint } from "./credentials.js";
import { DEFAULT_PORT } from "./endpoint.js";

/** HTTP/2 receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE). */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** TLS settings of a connection to Talos. */
export interface TlsSettings {
  /** CA bundle (PEM) that must have signed the server certificate. */
  ca?: string | undefined;
  /** Client certificate (PEM). */
  cert?: string | undefined;
  /** Client key (PEM, OpenSSL-compatible label). */
  key?: string | undefined;
  /** Verify the server certificate against this name instead of the endpoint host. */
  serverName?: string | undefined;
  /** Maintenance mode: accept a server whose leaf SPKI fingerprint (base64 SHA-256) is listed. */
  fingerprints?: string[] | undefined;
  /** Maintenance mode: accept any server certificate. */
  skipVerification?: boolean | undefined;
}

function fingerprintMismatch(): Error {
  const err = new Error("server certificate does not match a pinned SPKI fingerprint");
  (err as NodeJS.ErrnoException).code = "ERR_TALOS_FINGERPRINT_MISMATCH";
  return err;
}

/** Builds the node:http2 / node:tls options for one endpoint. */
export function buildTlsOptions(
  host: string,
  tls: TlsSettings,
  onSocketError: (err: Error) => void = () => {},
  isTrusted: () => boolean = () => false,
): SecureClientSessionOptions {
  const options: SecureClientSessionOptions = {
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
    maxSessionMemory: 64,
    settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: 1024 * 1024 },
  };
  if (tls.cert && tls.key) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  const sni = tls.serverName ?? host;
  if (isIP(sni) === 0) options.servername = sni;
  if (tls.fingerprints?.length || tls.skipVerification) {
    // The maintenance certificate is self-signed: no chain to verify, so the
    // key is pinned instead, checked as soon as the handshake completes and
    // before HTTP/2 uses the socket.
    const pins = new Set(tls.fingerprints ?? []);
    const skip = Boolean(tls.skipVerification);
    options.createConnection = (authority: URL) =>
      pinnedConnection(
        {
          host: authority.hostname.replace(/^\[|\]$/g, ""),
          port: Number(authority.port) || DEFAULT_PORT,
          ALPNProtocols: ["h2"],
          servername: options.servername,
          rejectUnauthorized: false,
          minVersion: "TLSv1.2",
        },
        skip ? undefined : pins,
        onSocketError,
      );
    return options;
  }
  options.rejectUnauthorized = true;
  if (tls.ca) options.ca = tls.ca;
  if (tls.serverName) {
    const name = tls.serverName;
    options.checkServerIdentity = (_host: string, peer: PeerCertificate) =>
      checkServerIdentity(name, peer);
  }
  // Our own TLS socket, so that handshake failures (such as the server
  // refusing the client certificate) are seen with their real reason.
  const tlsOptions = { ...options } as ConnectionOptions;
  options.createConnection = (authority: URL) => {
    const socket = tlsConnect({
      ...tlsOptions,
      host: authority.hostname.replace(/^\[|\]$/g, ""),
      port: Number(authority.port) || DEFAULT_PORT,
    });
    socket.on("error", onSocketError);
    let secureAt = 0;
    socket.once("secureConnect", () => {
      secureAt = Date.now();
    });
    socket.once("close", () => {
      // Closed right after a completed handshake, before any answer: with
      // TLS 1.3 that is how a server refusing the client certificate looks.
      if (secureAt && Date.now() - secureAt < 2_000 && tls.cert && !isTrusted()) {
        const err = new Error("the server closed the connection right after the TLS handshake");
        (err as NodeJS.ErrnoException).code = "ERR_SSL_TALOS_CLOSED_AFTER_HANDSHAKE_ALERT";
        onSocketError(err);
      }
    });
    return socket;
  };
  return options;
}

/**
 * A TLS connection that HTTP/2 only sees once the server's key matched a pin:
 * node:tls cannot verify a pin during the handshake, so HTTP/2 runs over a
 * stream that is released after the check and fails with a typed error
 * otherwise. Nothing is written to an unverified server.
 */
function pinnedConnection(
  opts: ConnectionOptions,
  pins: Set<string> | undefined,
  onSocketError: (err: Error) => void,
): Duplex {
  const socket = tlsConnect(opts);
  const outer = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  const state = outer as Duplex & { secureConnecting?: boolean; encrypted?: boolean };
  state.secureConnecting = true;
  state.encrypted = true;
  socket.on("data", (chunk: Buffer) => {
    if (!outer.push(chunk)) socket.pause();
  });
  socket.on("end", () => outer.push(null));
  socket.on("error", (err) => {
    onSocketError(err);
    outer.destroy();
  });
  socket.once("secureConnect", () => {
    const peer = socket.getPeerX509Certificate();
    if (pins && (!peer || !pins.has(spkiFingerprint(peer)))) {
      // node:http2 would report an error on this socket twice, once with no
      // listener; the reason is handed over through onSocketError instead.
      onSocketError(fingerprintMismatch());
      outer.destroy();
      return;
    }
    state.secureConnecting = false;
    outer.emit("secureConnect");
  });
  return outer;
}
