// A simulated cluster and Image Factory for upgrade tests, with an admin client.
import { TalosClient } from "@taloskit/client";
import { FactoryClient } from "@taloskit/factory";
import {
  type ClusterSimulator,
  type FactoryServer,
  type SimNodeOptions,
  startCluster,
  startFactoryServer,
} from "@taloskit/testing";
import { expect } from "vitest";
import type { UpgradeEvent } from "../../src/upgrade/index.js";

export const SCHEMATIC_A = "a".repeat(64);
export const SCHEMATIC_B = "b".repeat(64);
export const SCHEMATIC_C = "c".repeat(64);

/** Versions the simulated factory offers: 1.13.4 is marked broken, so 1.13.3 is the usable 1.13. */
export const FACTORY_VERSIONS = [
  "v1.11.5",
  "v1.12.0",
  "v1.12.4",
  "v1.13.0",
  "v1.13.3",
  "v1.13.4",
  "v1.14.0",
  "v1.14.1-beta.0",
];
export const BROKEN = ["v1.13.4"];

export interface Env {
  sim: ClusterSimulator;
  factory: FactoryServer;
  factoryClient: FactoryClient;
  client: TalosClient;
  close(): Promise<void>;
}

export async function startEnv(nodes: SimNodeOptions[], rebootDelayMs = 20): Promise<Env> {
  const sim = await startCluster({ nodes, rebootDelayMs });
  const factory = await startFactoryServer({ versions: FACTORY_VERSIONS, brokenVersions: BROKEN });
  const client = TalosClient.connect(
    sim.clientOptions({ roles: ["os:admin"], nodes: nodes.map((n) => n.address) }),
  );
  const factoryClient = new FactoryClient({ baseUrl: factory.url, retries: 0 });
  return {
    sim,
    factory,
    factoryClient,
    client,
    async close() {
      client.close();
      await factory.close();
      await sim.close();
    },
  };
}

/**
 * Fast timings for tests: small reconnect intervals, bounded waits; no etcd
 * snapshot file per run (etcd-*.test.ts cover the snapshot).
 */
export const FAST = {
  retryIntervalMs: 5,
  retryMaxIntervalMs: 20,
  timeouts: { callMs: 5_000, pullMs: 5_000, installMs: 5_000, rebootMs: 5_000 },
  etcdSnapshot: false,
} as const;

/** Collects events. */
export function recorder(): { events: UpgradeEvent[]; on: (e: UpgradeEvent) => void } {
  const events: UpgradeEvent[] = [];
  return { events, on: (e) => events.push(e) };
}

/** Whether a simulated node was touched by an upgrade: pulled, installed, rebooted or changed. */
export function touched(
  sim: ClusterSimulator,
  address: string,
  before: { version: string; bootId: string; boots: number },
): boolean {
  const s = sim.node(address).state;
  return (
    s.images.size > 0 ||
    s.pendingUpgrade !== undefined ||
    s.boots !== before.boots ||
    s.bootId !== before.bootId ||
    s.version !== before.version
  );
}

export function snapshot(sim: ClusterSimulator) {
  return new Map(
    sim.nodes.map((n) => [
      n.address,
      { version: n.state.version, bootId: n.state.bootId, boots: n.state.boots },
    ]),
  );
}

/**
 * Clears the node faults upgrades use. (faults.clear() also restarts the
 * router, which sends GOAWAY to idle client sessions; not needed here.)
 */
export function clearNodeFaults(sim: ClusterSimulator): void {
  for (const n of sim.nodes) {
    sim.faults.failPull(n.address, null);
    sim.faults.installerExitCode(n.address, 0);
    sim.faults.neverReturn(n.address, false);
    sim.faults.etcdUnhealthy(n.address, false);
    sim.faults.unreachable(n.address, false);
    if (n.down) n.powerOn();
  }
}

/**
 * Kubelet readiness from the Talos simulator, for the Kubernetes simulator's
 * `isReady` hook: a Node is NotReady while the Talos node of that hostname is
 * down or not running and ready, and (with `lag`) for its first `lag` reads
 * after each boot, as a kubelet that needs a status update or two. A kubelet
 * broken with `breakAfterReboot` never becomes Ready after the node's next boot.
 */
export function kubeletReadiness(sim: ClusterSimulator) {
  const broken = new Map<string, number>();
  // Per node: the boot last seen and how many reads it still answers NotReady.
  const reads = new Map<string, { boots: number; left: number }>();
  const byName = (name: string) => sim.nodes.find((n) => n.state.hostname === name);
  const r = {
    /** NotReady reads after each boot (default 0: Ready as soon as the node runs). */
    lag: 0,
    isReady(name: string): boolean {
      const n = byName(name);
      if (!n) return false;
      if (n.down || n.state.stage !== "running" || !n.state.ready) return false;
      const b = broken.get(name);
      if (b !== undefined && n.state.boots > b) return false;
      let seen = reads.get(name);
      if (!seen || seen.boots !== n.state.boots) {
        // A boot this hook has not seen: the first one is the baseline, later ones lag.
        seen = { boots: n.state.boots, left: seen ? r.lag : 0 };
        reads.set(name, seen);
      }
      if (seen.left > 0) {
        seen.left--;
        return false;
      }
      return true;
    },
    /** The kubelet of this Talos node stays NotReady once the node has rebooted. */
    breakAfterReboot(address: string): void {
      const n = sim.node(address);
      broken.set(n.state.hostname, n.state.boots);
    },
    clear(): void {
      broken.clear();
      r.lag = 0;
    },
  };
  return r;
}

/** The error a promise rejects with, checked to be an instance of `type`. */
export async function rejection<E extends Error>(
  p: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/** The calls that change a node in an upgrade: Pull, LifecycleService.Upgrade, Reboot, legacy Upgrade. */
const MUTATING_CALLS = [
  "machine.ImageService/Pull",
  "machine.LifecycleService/Upgrade",
  "machine.MachineService/Reboot",
  "machine.MachineService/Upgrade",
];

/** How many calls that change a node each node has received, by address. */
export function mutatingCalls(sim: ClusterSimulator): Map<string, number> {
  return new Map(
    sim.nodes.map((n) => [n.address, MUTATING_CALLS.reduce((sum, p) => sum + n.calls(p), 0)]),
  );
}

/** A node on the lifecycle path (Talos 1.13) and one on the legacy path (1.12). */
export const NEW = "10.5.0.2";
export const OLD = "10.5.0.3";
export const NEW_AND_OLD: SimNodeOptions[] = [
  { address: NEW, role: "worker", version: "v1.13.3", schematic: SCHEMATIC_A },
  { address: OLD, role: "worker", version: "v1.12.4", schematic: SCHEMATIC_A },
];

/** Puts the NEW_AND_OLD nodes back as they started, faults cleared, nothing pulled or pending. */
export function resetNewAndOld(sim: ClusterSimulator): void {
  clearNodeFaults(sim);
  for (const { address, version } of NEW_AND_OLD) {
    const n = sim.node(address);
    n.state.version = version as string;
    n.state.schematic = SCHEMATIC_A;
    n.state.images.clear();
    n.state.pendingUpgrade = undefined;
    n.touch();
  }
}
