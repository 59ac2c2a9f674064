// Runs every script in examples/ as a user would, in its own Node process, against a
// simulated cluster and factory: the talosconfig comes from $TALOSCONFIG and the other
// settings from the environment variables each example documents.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import {
  type ClusterSimulator,
  type FactoryServer,
  startCluster,
  startFactoryServer,
} from "@taloskit/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const run = promisify(execFile);
const examplesDir = import.meta.dirname;
// The examples run from a scratch directory, so tsx is loaded by its path in the clone.
const tsx = pathToFileURL(join(examplesDir, "../node_modules/tsx/dist/loader.mjs")).href;

let cluster: ClusterSimulator;
let factory: FactoryServer;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [cluster, factory] = await Promise.all([
    startCluster({
      nodes: [
        {
          address: "10.5.0.2",
          role: "controlplane",
          profile: "nvidia-hgx-server",
          version: "v1.13.3",
        },
        { address: "10.5.0.3", role: "worker", profile: "intel-nuc", version: "v1.13.3" },
      ],
      rebootDelayMs: 50,
    }),
    startFactoryServer({ assetSize: 64 * 1024 }),
  ]);
  dir = await mkdtemp(join(tmpdir(), "taloskit-examples-"));
  const talosconfig = join(dir, "talosconfig");
  await writeFile(talosconfig, cluster.talosconfig({ nodes: ["10.5.0.2", "10.5.0.3"] }));
  env = {
    ...process.env,
    TALOSCONFIG: talosconfig,
    FACTORY_URL: factory.url,
    NODE_NO_WARNINGS: "1",
  };
});

afterAll(async () => {
  await Promise.all([cluster?.close(), factory?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function example(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ["--conditions=@taloskit/source", "--import", tsx, join(examplesDir, name)],
    { cwd: dir, env: { ...env, ...extraEnv }, timeout: 60_000 },
  );
  return stdout;
}

/** What each example must print; a new example without an entry here fails the suite. */
const expectations: Record<string, (out: string) => void | Promise<void>> = {
  "connect.ts": (out) => {
    expect(out).toMatch(/^10\.5\.0\.2: Talos v1\.13\.3 \(amd64, metal\)$/m);
    expect(out).toMatch(/^10\.5\.0\.3: Talos v1\.13\.3 \(amd64, metal\)$/m);
  },
  "fan-out.ts": (out) => {
    expect(out).toMatch(/^10\.5\.0\.2: \d+\.\d GiB memory$/m);
    expect(out).toMatch(/^10\.5\.0\.9: failed \(\w+\): /m);
  },
  "watch-resources.ts": (out) => {
    expect(out).toMatch(/^created kubelet: running=true healthy=true$/m);
  },
  "patch-apply-config.ts": (out) => {
    expect(out).toMatch(/^\+\s+- api\.cluster\.example$/m);
    expect(out).toContain("10.5.0.2: applied=true mode=no-reboot reboot needed=false");
    expect(out).toMatch(/^refused \(CONFIG_BAD_PATCH\): .*machine\.certSANs/m);
  },
  "resolve-hardware.ts": (out) => {
    expect(out).toMatch(/^schematic [0-9a-f]{64}$/m);
    expect(out).toMatch(/^extensions .*siderolabs\/nvidia-open-gpu-kernel-modules-lts/m);
    expect(out).toMatch(/^extensions .*siderolabs\/iscsi-tools/m);
    expect(out).toMatch(
      /^installer factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.14\.0$/m,
    );
    expect(out).toMatch(/^because .*NVSwitch/m);
    expect(out).toMatch(/^patch KernelModuleConfig$/m);
    expect(out).toMatch(/^drift: the node runs 376567988ad3/m);
  },
  "upgrade-cluster.ts": (out) => {
    // Runs last: the nodes start at v1.13.3 and end at v1.14.0.
    expect(out).toMatch(/^10\.5\.0\.2 \(controlplane\): v1\.13\.3 -> v1\.14\.0$/m);
    expect(out).toMatch(/^10\.5\.0\.3: now v1\.14\.0 \(boot [0-9a-f-]{36}\)$/m);
    expect(out).toMatch(/^etcd snapshot: \S+\/etcd-talos-10-5-0-2-\d{8}T\d{6}Z\.snapshot$/m);
    expect(out).toContain("upgraded 2 node(s)");
  },
  "factory-iso.ts": async (out) => {
    const offline = /^offline ID: ([0-9a-f]{64})$/m.exec(out)?.[1];
    expect(offline).toBeDefined();
    expect(out).toContain(`factory ID: ${offline}`);
    expect(out).toMatch(/^installer: .+\/metal-installer\/[0-9a-f]{64}:v1\.14\.0$/m);
    expect((await stat(join(dir, "talos.iso"))).size).toBe(64 * 1024);
  },
};

const extraEnv: Record<string, NodeJS.ProcessEnv> = {
  "fan-out.ts": { NODES: "10.5.0.2,10.5.0.3,10.5.0.9" },
  "watch-resources.ts": { TALOS_NODE: "10.5.0.2", WATCH_MS: "1500" },
  "patch-apply-config.ts": { TALOS_NODE: "10.5.0.2" },
  "resolve-hardware.ts": { TALOS_NODE: "10.5.0.2" },
  "upgrade-cluster.ts": { TALOS_VERSION: "v1.14.0" },
};

test("every example has an expectation", async () => {
  const scripts = (await readdir(examplesDir)).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("."),
  );
  expect(scripts.sort()).toEqual(Object.keys(expectations).sort());
});

describe("examples", () => {
  for (const [name, check] of Object.entries(expectations)) {
    test(name, async () => {
      await check(await example(name, extraEnv[name]));
    });
  }
});

// The README's quick tour, verbatim, against a cluster of its own (it upgrades it).
describe("the README's quick tour", () => {
  let tourCluster: ClusterSimulator;
  let script: string;
  beforeAll(async () => {
    tourCluster = await startCluster({
      nodes: [
        { address: "10.5.0.2", role: "controlplane", profile: "intel-nuc", version: "v1.13.3" },
        { address: "10.5.0.3", role: "worker", profile: "intel-nuc", version: "v1.13.3" },
      ],
      rebootDelayMs: 50,
    });
    const readme = await readFile(join(examplesDir, "../README.md"), "utf8");
    const tour = /## A quick tour\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(tour).toBeDefined();
    // Beside the examples, so that the workspace packages resolve as they do for them.
    script = join(examplesDir, `.readme-tour-${process.pid}.ts`);
    await writeFile(script, tour ?? "");
  });
  afterAll(async () => {
    await tourCluster?.close();
    if (script) await rm(script, { force: true });
  });

  test("runs as written and does what it says", async () => {
    const talosconfig = join(dir, "talosconfig.tour");
    await writeFile(talosconfig, tourCluster.talosconfig({ nodes: ["10.5.0.2", "10.5.0.3"] }));
    const { stdout } = await run(
      process.execPath,
      ["--conditions=@taloskit/source", "--import", tsx, script],
      { cwd: dir, env: { ...env, TALOSCONFIG: talosconfig }, timeout: 60_000 },
    );
    expect(stdout).toMatch(/^v1\.13\.3 2 \d+$/m);
    expect(stdout).toMatch(/^[0-9a-f]{64} \S+\/metal-installer\/[0-9a-f]{64}:v1\.14\.0 \d+ \d+$/m);
    expect(stdout).toMatch(/^\+\s+- tour\.example$/m);
    expect(stdout).toContain("node-done");
    expect(stdout).toMatch(/^\S+\/etcd-\S+\.snapshot$/m);
    expect(tourCluster.node("10.5.0.2").state.version).toBe("v1.14.0");
    expect(tourCluster.node("10.5.0.3").state.version).toBe("v1.14.0");
    expect(tourCluster.node("10.5.0.2").state.config).toContain("tour.example");
  });
});
