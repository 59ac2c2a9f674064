// Endpoints as talosctl reads them: "host", "host:port", "[v6]:port", or a URL
// whose scheme sets the default port.
import { isIP } from "node:net";
import { TalosError } from "./errors.js";

/** The apid port used when an endpoint names none. */
export const DEFAULT_PORT = 50000;

/** A parsed endpoint: `id` is its "host:port" form, `url` the https origin calls go to. */
export interface Endpoint {
  host: string;
  port: number;
  id: string;
  url: string;
}

// Host names as DNS has them (underscores too, as some internal names carry them).
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function invalid(endpoint: string, why: string): TalosError {
  return new TalosError(
    "INVALID_ARGUMENT",
    `endpoint ${JSON.stringify(endpoint.slice(0, 200))} is not a valid host[:port]: ${why}`,
  );
}

/** Normalizes an endpoint as talosctl does: bare host gets :50000, https://host gets :443. */
export function normalizeEndpoint(endpoint: string): Endpoint {
  if (typeof endpoint !== "string") {
    // Not String(endpoint): a prototype-free object has no conversion to text.
    const kind = endpoint === null ? "null" : Array.isArray(endpoint) ? "a list" : typeof endpoint;
    throw invalid(`(${kind})`, "not a string");
  }
  let rest = endpoint.trim();
  if ([...rest].some((c) => c <= " " || c === "\u007f"))
    throw invalid(endpoint, "it holds whitespace or control characters");
  let defaultPort = DEFAULT_PORT;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    if (scheme[1]?.toLowerCase() === "https") defaultPort = 443;
    rest = rest.slice(scheme[0].length).replace(/\/.*$/, "");
  }
  let host = rest;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6?.[1]) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
    if (isIP(host) !== 6) throw invalid(endpoint, "the part in brackets is not an IPv6 address");
  } else if (isIP(rest) === 6) {
    host = rest;
  } else {
    const m = /^(.*):(\d+)$/.exec(rest);
    if (m?.[1] && m[2]) {
      host = m[1];
      port = Number(m[2]);
    }
    if (isIP(host) === 0 && !HOST_NAME.test(host)) {
      throw invalid(endpoint, "the host is neither an IP address nor a host name");
    }
  }
  if (!host) throw invalid(endpoint, "no host");
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw invalid(endpoint, "the port is not between 1 and 65535");
  }
  const id = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, id, url: `https://${id}` };
}
