// The simulated factory on a real HTTP socket (node:http, which Deno also provides).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type FactorySimOptions, FactorySimulator } from "./handler.js";

export interface FactoryServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  sim: FactorySimulator;
  close(): Promise<void>;
}

/** Starts the simulator on 127.0.0.1 (a random port unless `port` is given). */
export async function startFactoryServer(
  options: FactorySimOptions & { sim?: FactorySimulator; port?: number } = {},
): Promise<FactoryServer> {
  const sim = options.sim ?? new FactorySimulator(options);
  const server = createServer((req, res) => {
    serve(sim, req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sim,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  sim: FactorySimulator,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  }
  const controller = new AbortController();
  res.on("close", () => controller.abort());
  const body =
    chunks.length > 0 && req.method !== "GET" && req.method !== "HEAD"
      ? Buffer.concat(chunks)
      : undefined;
  const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method ?? "GET",
    headers,
    body,
    signal: controller.signal,
  });
  const response = await sim.handle(request);
  const out: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    out[key] = value;
  });
  res.writeHead(response.status, out);
  if (!response.body || req.method === "HEAD") {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
  } catch {
    // A simulated connection drop: let the bytes already written reach the
    // client, then cut the socket mid-body.
    await new Promise<void>((resolve) => res.write(new Uint8Array(0), () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    res.destroy();
  }
}
