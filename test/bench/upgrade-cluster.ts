// The cluster of the upgrade benchmarks: `NODES` simulated nodes at v1.13.3
// (3 control planes, the rest workers) with zero simulated delays, a factory
// offering v1.13.3 and v1.14.0, and an admin client over real mTLS.
import { TalosClient } from "@taloskit/client";
import { startCluster, startFactoryServer } from "@taloskit/testing";

export const NODES = Number(process.env.UPGRADE_BENCH_NODES ?? 1000);
export const BATCH = 50;
export const FROM = "v1.13.3";
export const TO = "v1.14.0";
export const SCHEMATIC = "a".repeat(64);

export async function startUpgradeCluster() {
  const sim = await startCluster({
    rebootDelayMs: 0,
    nodes: Array.from({ length: NODES }, (_, i) => ({
      address: `10.${Math.floor(i / 250)}.0.${(i % 250) + 2}`,
      role: i < 3 ? ("controlplane" as const) : ("worker" as const),
      version: FROM,
      schematic: SCHEMATIC,
    })),
  });
  const factory = await startFactoryServer({ versions: [FROM, TO] });
  const client = TalosClient.connect(sim.clientOptions({ roles: ["os:admin"] }));
  return {
    sim,
    factory,
    client,
    /** Every node back at FROM, as before the first run. */
    reset(): void {
      for (const n of sim.nodes) {
        n.state.version = FROM;
        n.state.schematic = SCHEMATIC;
        n.state.images.clear();
        n.state.pendingUpgrade = undefined;
        n.touch();
      }
    },
    async close(): Promise<void> {
      client.close();
      await factory.close();
      await sim.close();
    },
  };
}
