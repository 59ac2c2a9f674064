// The cluster simulator (@taloskit/testing, a workspace devDependency that
// vitest and tsc resolve to its source), and the start-up the simulator tests
// share: a cluster, talosconfig files in a temp dir and one client per file.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterSimulator, type StartClusterOptions, startCluster } from "@taloskit/testing";
import { TalosClient } from "../../src/index.js";

export { type ClusterSimulator, startCluster } from "@taloskit/testing";

/** Options of `ClusterSimulator.talosconfig`. */
export type TalosconfigOptions = NonNullable<Parameters<ClusterSimulator["talosconfig"]>[0]>;

/** A running simulated cluster with one talosconfig file and one client per name. */
export interface SimWithClients<Name extends string> {
  sim: ClusterSimulator;
  /** Temp dir of the talosconfig files, for more files of the test's own; removed by `close`. */
  dir: string;
  /** Path of each name's talosconfig (`<dir>/<name>`). */
  paths: Record<Name, string>;
  /** Each name's client, made with `TalosClient.fromTalosconfig` from its file. */
  clients: Record<Name, TalosClient>;
  /** Closes the clients, stops the cluster and removes the temp dir. */
  close(): Promise<void>;
}

/**
 * Starts a simulated cluster, writes `sim.talosconfig(options)` to a file per
 * name and connects a client through each file. Anything started is stopped
 * again when a later step fails.
 */
export async function startSimWithClients<Name extends string>(
  cluster: StartClusterOptions,
  talosconfigs: Record<Name, TalosconfigOptions>,
): Promise<SimWithClients<Name>> {
  const sim = await startCluster(cluster);
  const clients: Partial<Record<Name, TalosClient>> = {};
  let dir: string | undefined;
  const close = async () => {
    for (const c of Object.values<TalosClient | undefined>(clients)) c?.close();
    await sim.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    dir = await mkdtemp(join(tmpdir(), "taloskit-client-"));
    const paths = {} as Record<Name, string>;
    for (const [name, options] of Object.entries(talosconfigs) as [Name, TalosconfigOptions][]) {
      paths[name] = join(dir, name);
      await writeFile(paths[name], sim.talosconfig(options));
      clients[name] = await TalosClient.fromTalosconfig({ path: paths[name] });
    }
    return { sim, dir, paths, clients: clients as Record<Name, TalosClient>, close };
  } catch (error) {
    await close();
    throw error;
  }
}
