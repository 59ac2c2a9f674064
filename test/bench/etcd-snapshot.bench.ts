// Benchmark: the etcd snapshot a rolling upgrade saves before its first control
// plane goes down, from a simulated member of 64 MiB over real mTLS to the
// in-process simulator. Two pairs, each measured in the same run:
// - saving: taloskit (stream to a temporary file, fsync, read back as etcd's
//   restore would, rename) against the same EtcdSnapshot stream written
//   straight to a file (no fsync, no check);
// - reading back: verifyEtcdSnapshot against a bare streaming SHA-256 of the
//   same file (what `sha256sum` costs).
// Prints the median milliseconds of each and their ratios.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TalosClient } from "@taloskit/client";
import { startCluster } from "@taloskit/testing";
import { saveEtcdSnapshot } from "../../packages/taloskit/src/upgrade/etcd-safety.js";
import { verifyEtcdSnapshot } from "../../packages/taloskit/src/upgrade/etcd-snapshot.js";
import type { UpgradePlan } from "../../packages/taloskit/src/upgrade/plan.js";
import { runContext } from "../../packages/taloskit/src/upgrade/run-context.js";
import { median } from "./helpers.js";

const MiB = 1024 * 1024;
const DB = Number(process.env.ETCD_BENCH_MIB ?? 64) * MiB;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CPS = ["10.5.0.2", "10.5.0.3", "10.5.0.4"];

const sim = await startCluster({
  nodes: CPS.map((address) => ({ address, role: "controlplane" as const })),
});
for (const n of sim.nodes) (n.state.etcd as { dbSize: bigint }).dbSize = BigInt(DB);
const client = TalosClient.connect(sim.clientOptions({ roles: ["os:admin"] }));
const dir = await mkdtemp(join(tmpdir(), "taloskit-etcd-bench-"));

// The smallest plan that asks for a snapshot: its first control plane is to be upgraded.
const plan = {
  target: "v1.14.0",
  nodes: CPS.map((node) => ({
    node,
    hostname: node,
    role: "controlplane",
    action: "upgrade",
    steps: [],
  })),
  waves: [],
} as unknown as UpgradePlan;

async function bare(path: string): Promise<void> {
  const fh = await open(path, "w");
  for await (const chunk of client.streams.etcdSnapshot({ node: CPS[1] })) await fh.write(chunk);
  await fh.close();
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) h.update(chunk);
  return h.digest("hex");
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const saveMs: number[] = [];
const bareMs: number[] = [];
const verifyMs: number[] = [];
const hashMs: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const base = join(dir, `bare-${i}`);
    bareMs.push(await time(() => bare(base)));
    const ctx = runContext(client, plan, { etcdSnapshot: { path: join(dir, `run-${i}`) } });
    saveMs.push(await time(() => saveEtcdSnapshot(ctx)));
    hashMs.push(await time(() => sha256Of(base)));
    verifyMs.push(await time(() => verifyEtcdSnapshot(base)));
    await rm(base);
    await rm(join(dir, `run-${i}`));
  }
} finally {
  client.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
}

const ms = (v: number[]) => median(v).toFixed(0);
console.log(`snapshot of ${DB / MiB} MiB, median of ${RUNS} runs`);
console.log(`save (taloskit: stream, fsync, read back, rename): ${ms(saveMs)} ms`);
console.log(`baseline: the same stream written straight to a file: ${ms(bareMs)} ms`);
console.log(`ratio save taloskit/baseline: ${(median(saveMs) / median(bareMs)).toFixed(2)}x`);
console.log(`read back (verifyEtcdSnapshot): ${ms(verifyMs)} ms`);
console.log(`baseline: streaming SHA-256 of the same file: ${ms(hashMs)} ms`);
console.log(
  `ratio read-back taloskit/baseline: ${(median(verifyMs) / median(hashMs)).toFixed(2)}x`,
);
