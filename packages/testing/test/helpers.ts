import { create, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { nodeKeyPem, type TalosPki } from "../src/index.js";

/** A plain grpc-js client for the simulator. */
export function makeClient(
  endpoint: string,
  pki: TalosPki,
  roles: string[] = ["os:admin"],
  ca?: string,
): grpc.Client {
  const c = pki.issueClient({ roles });
  return new grpc.Client(
    endpoint,
    grpc.credentials.createSsl(
      Buffer.from(ca ?? pki.ca.certPem),
      Buffer.from(nodeKeyPem(c.keyPem)),
      Buffer.from(c.certPem),
    ),
    // The simulator's certificates name localhost too; TLS server names must not be IP addresses.
    { "grpc.ssl_target_name_override": "localhost" },
  );
}

export function md(node?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (node) m.set("node", node);
  return m;
}

const path = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

export function unary<T = unknown>(
  client: grpc.Client,
  m: DescMethod,
  req: Record<string, unknown>,
  meta = md(),
): Promise<T> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path(m),
      (v: Buffer) => v,
      (b: Buffer) => b,
      Buffer.from(toBinary(m.input, create(m.input, req as never))),
      meta,
      (err, res) => (err ? reject(err) : resolve(fromBinary(m.output, res as Buffer) as T)),
    );
  });
}

export async function stream<T = unknown>(
  client: grpc.Client,
  m: DescMethod,
  req: Record<string, unknown>,
  meta = md(),
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const call = client.makeServerStreamRequest(
    path(m),
    (v: Buffer) => v,
    (b: Buffer) => b,
    Buffer.from(toBinary(m.input, create(m.input, req as never))),
    meta,
  );
  const out: T[] = [];
  try {
    for await (const b of call) {
      out.push(fromBinary(m.output, b as Buffer) as T);
      if (out.length >= limit) {
        call.cancel();
        break;
      }
    }
  } catch (e) {
    if ((e as grpc.ServiceError).code !== grpc.status.CANCELLED) throw e;
  }
  return out;
}
