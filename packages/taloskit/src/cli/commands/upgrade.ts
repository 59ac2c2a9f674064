// `taloskit upgrade plan|run --to V`: plan a cluster upgrade (the version path
// of every node, its installer images, the order and the gates), or run it
// with live progress on stderr and a final table (or json/yaml) on stdout.
// For bots and CI: `plan` exits 2 when it would change something, `--json`
// prints every event as a line of JSON, and `run --state FILE` keeps a state
// file that a later run with the same plan resumes.
import { FactoryClient } from "@taloskit/factory";
import { Command, Option } from "commander";
import { KubeClient } from "../../kubernetes/index.js";
import {
  errorJson,
  eventJson,
  type PlannedNode,
  planUpgrade,
  readUpgradeState,
  runUpgrade,
  type UpgradeEvent,
  type UpgradePlan,
  UpgradeRunError,
  type UpgradeSummary,
} from "../../upgrade/index.js";
import {
  type CommandIO,
  connectTargets,
  type GlobalFlags,
  globalFlags,
  parseDuration,
  processIO,
  withGlobalFlags,
} from "../globals.js";
import { readBoundedText } from "../input.js";
import { type OutputFormat, render } from "../output.js";
import { progressBar } from "../progress.js";
import { userPath } from "./node-action.js";

/** CommandIO plus whether stderr is a terminal (progress redraws in place). */
export interface UpgradeCommandIO extends CommandIO {
  isTTY?: boolean;
  readFile?: (path: string) => string;
}

const defaultIO: UpgradeCommandIO = {
  ...processIO,
  isTTY: process.stderr.isTTY === true,
  readFile: (p) => readBoundedText(p),
};

interface PlanFlags {
  to: string;
  only?: string[];
  allowDroppedExtensions?: boolean;
  factory: string;
  registry?: string;
  schematic?: string;
  kubeconfig?: string;
  kubernetesVersion?: string;
  json?: boolean;
}

function planOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--to <version>", "target Talos version, e.g. v1.14.0")
    .addOption(
      new Option("--factory <url>", "Image Factory URL (versions and installer images)").default(
        "https://factory.talos.dev",
      ),
    )
    .option("--registry <host>", "installer registry host (default: the factory's host)")
    .option(
      "--schematic <id>",
      "install this schematic on every node instead of keeping each node's",
    )
    .option(
      "--only <nodes>",
      "upgrade only these nodes (comma separated), leaving the rest of the cluster as it is",
      (v: string) =>
        v
          .split(",")
          .map((n) => n.trim())
          .filter(Boolean),
    )
    .option(
      "--allow-dropped-extensions",
      "accept a schematic that lacks an extension a node runs now (the node loses it)",
    )
    .option("--kubeconfig <path>", "Kubernetes API access: version check, cordon and drain")
    .option("--kubernetes-version <version>", "the cluster's Kubernetes version, for the check")
    .option(
      "--json",
      "print one JSON object per line on stdout (events, then the plan or the summary; errors as {type: error})",
    );
}

/** Exit codes of `upgrade plan`, as `terraform plan -detailed-exitcode` has them. */
const PLAN_EXIT = { unchanged: 0, error: 1, changes: 2 } as const;

const PLAN_HELP = `
Exit codes: ${PLAN_EXIT.unchanged} when no node would change, ${PLAN_EXIT.changes} when some node would be upgraded, ${PLAN_EXIT.error} on errors.`;

/** Writes a value as one line of JSON (NDJSON) on stdout. */
function jsonLine(io: UpgradeCommandIO, value: object): void {
  io.stdout(`${JSON.stringify(value)}\n`);
}

/** Sets a command's action; with --json, its failure is also a last line {type: "error"} on stdout. */
function actionReportingJson<O extends { json?: boolean }>(
  cmd: Command,
  io: UpgradeCommandIO,
  action: (opts: O) => Promise<void>,
): void {
  cmd.action(async (opts: O) => {
    try {
      await action(opts);
    } catch (error) {
      if (opts.json) jsonLine(io, { type: "error", time: now(), error: errorJson(error) });
      throw error;
    }
  });
}

const now = () => new Date().toISOString();

async function makePlan(flags: GlobalFlags, opts: PlanFlags, io: UpgradeCommandIO) {
  if (flags.insecure) throw new Error("upgrade needs a talosconfig: --insecure is not supported");
  const targets = await connectTargets(flags, io);
  const client = targets.clientFor(undefined);
  if (!targets.nodes.some((n) => n !== undefined)) {
    targets.close();
    throw new Error(
      "no nodes to start from: pass -n/--nodes or set nodes in the talosconfig context",
    );
  }
  const kube = opts.kubeconfig
    ? KubeClient.fromKubeconfig((io.readFile ?? defaultIO.readFile)?.(opts.kubeconfig) ?? "")
    : undefined;
  try {
    const plan = await planUpgrade(client, {
      to: opts.to,
      // The plan covers the cluster found from the context's nodes; nodes named
      // with -n must cover it too, unless --only names a subset.
      nodes: opts.only ?? flags.nodes,
      subset: opts.only !== undefined,
      allowDroppedExtensions: opts.allowDroppedExtensions,
      factory: new FactoryClient({ baseUrl: opts.factory }),
      registry: opts.registry,
      schematic: opts.schematic,
      kube,
      kubernetesVersion: opts.kubernetesVersion,
    });
    return { plan, client, kube, close: () => targets.close() };
  } catch (error) {
    targets.close();
    throw error;
  }
}

const short = (id: string) => `${id.slice(0, 12)}…`;

/** How a run goes through a plan: what decides its order and gates. */
interface RunShape {
  batchSize: number;
  /** Cordon and drain each node, and wait until its Kubernetes node is Ready (a kubeconfig, no --no-drain). */
  drain: boolean;
  /** --kubernetes-gate with a kubeconfig. */
  kubernetesGate: boolean;
}

/**
 * The order of a run, line by line, as rolling.ts goes: per wave, control
 * planes one at a time between etcd gates, then workers in batches, each
 * batch behind an etcd gate; each node with the exact installer it gets.
 */
function orderOf(plan: UpgradePlan, run: RunShape): string[] {
  const byNode = new Map(plan.nodes.map((n) => [n.node, n]));
  const etcd = plan.nodes.some((n) => n.role === "controlplane");
  const lines = [
    `order: control planes one at a time, then workers in batches of ${run.batchSize}`,
    run.drain
      ? "drain: each node cordoned and drained before its reboot, uncordoned once its Kubernetes node is Ready"
      : "drain: none (needs --kubeconfig)",
  ];
  const install = (node: string, version: string, indent: string) => {
    const n = byNode.get(node) as PlannedNode;
    const i = n.steps.findIndex((s) => s.version === version);
    const step = n.steps[i];
    const from = i > 0 ? n.steps[i - 1]?.version : n.version;
    return `${indent}${node} ${n.role} ${from} -> ${version} ${step?.method} ${step?.image}`;
  };
  for (const w of plan.waves) {
    lines.push(`wave ${w.version}:`);
    w.controlPlanes.forEach((cp, i) => {
      if (i === 0) lines.push(`  gate etcd: every member healthy, quorum kept without ${cp}`);
      if (run.kubernetesGate)
        lines.push("  gate kubernetes: every Kubernetes node of the plan Ready");
      lines.push(install(cp, w.version, "  "));
      lines.push(`  gate etcd: healthy again after ${cp}`);
    });
    for (let i = 0; i < w.workers.length; i += run.batchSize) {
      const batch = w.workers.slice(i, i + run.batchSize);
      lines.push(`  batch ${batch.join(", ")}:`);
      if (etcd) lines.push("    gate etcd: every member healthy");
      for (const node of batch) lines.push(install(node, w.version, "    "));
    }
  }
  if (!plan.waves.length) lines.push("nothing to do: every node runs its target");
  return lines;
}

function printPlan(
  io: UpgradeCommandIO,
  format: OutputFormat,
  plan: UpgradePlan,
  run: RunShape,
): void {
  io.stdout(
    render(format, plan, {
      rows: plan.nodes,
      columns: [
        { header: "NODE", value: (n: PlannedNode) => n.node },
        { header: "ROLE", value: (n) => n.role },
        { header: "FROM", value: (n) => n.version },
        { header: "PATH", value: (n) => n.steps.map((s) => s.version).join(" -> ") || "-" },
        { header: "METHOD", value: (n) => [...new Set(n.steps.map((s) => s.method))].join(",") },
        {
          header: "SCHEMATIC",
          value: (n) =>
            n.schematic === n.targetSchematic
              ? short(n.schematic)
              : `${short(n.schematic)} -> ${short(n.targetSchematic)}`,
        },
        { header: "PLATFORM", value: (n) => `${n.platform}${n.secureBoot ? "+secureboot" : ""}` },
        { header: "ACTION", value: (n) => n.action },
      ],
    }),
  );
  if (format === "table") io.stdout(`\n${orderOf(plan, run).join("\n")}\n`);
  if (plan.excluded.length) {
    io.stderr(
      `left out (--only): ${plan.excluded.map((n) => `${n.hostname} (${n.node})`).join(", ")}\n`,
    );
  }
  const k = plan.kubernetes;
  if (k.version) io.stderr(`Kubernetes ${k.version} (${k.source}): supported on every step\n`);
  for (const w of plan.warnings) io.stderr(`warning: ${w}\n`);
}

/** The plan: one line of JSON with --json, else the table with the order, or json/yaml. */
function showPlan(
  io: UpgradeCommandIO,
  format: OutputFormat,
  json: boolean | undefined,
  plan: UpgradePlan,
  run: RunShape,
): void {
  if (json) jsonLine(io, { type: "plan", time: now(), ...plan });
  else printPlan(io, format, plan, run);
}

/** A dry run: the state file checked (another plan's is refused), never written; then the plan. */
function printDryRun(
  io: UpgradeCommandIO,
  format: OutputFormat,
  p: { plan: UpgradePlan; kube: KubeClient | undefined },
  opts: {
    json?: boolean;
    drain: boolean;
    kubernetesGate?: boolean;
    batchSize: number;
    statePath: string | undefined;
  },
): void {
  const earlier = opts.statePath ? readUpgradeState(opts.statePath, p.plan) : undefined;
  if (earlier) io.stderr(`would resume ${opts.statePath} (${earlier.status})\n`);
  showPlan(io, format, opts.json, p.plan, {
    batchSize: opts.batchSize,
    drain: opts.drain && !!p.kube,
    kubernetesGate: opts.kubernetesGate === true && !!p.kube,
  });
}

function printSummary(io: UpgradeCommandIO, format: OutputFormat, s: UpgradeSummary): void {
  io.stdout(
    render(format, s, {
      rows: s.nodes,
      columns: [
        { header: "NODE", value: (n) => n.node },
        { header: "ROLE", value: (n) => n.role },
        { header: "FROM", value: (n) => n.from },
        { header: "TO", value: (n) => n.to },
        { header: "INSTALLED", value: (n) => n.installed.join(" -> ") },
        { header: "STATUS", value: (n) => n.status },
        {
          header: "TIME",
          value: (n) => (n.durationMs ? `${(n.durationMs / 1000).toFixed(1)}s` : ""),
        },
        { header: "ERROR", value: (n) => n.error?.code ?? "" },
      ],
    }),
  );
}

/** Turns progress events into lines on stderr; on a terminal, pull progress redraws one line. */
export function progressPrinter(io: UpgradeCommandIO): (e: UpgradeEvent) => void {
  // pull progress redraws one line on a terminal; every other event is a line of its own
  const bar = progressBar(
    io,
    "",
    (done, total) => `${total ? Math.floor((done / total) * 100) : 0}%`,
  );
  const line = (text: string) => bar.line(text);
  return (e) => {
    switch (e.type) {
      case "run-start":
        return line(`upgrading ${e.nodes} node(s) to ${e.target}${e.dryRun ? " (dry run)" : ""}`);
      case "resume":
        return line(
          `resuming ${e.path}: ${e.done.length} node(s) done${e.failed ? `, stopped at ${e.failed.node ?? "a gate"} (${e.failed.code} at ${e.failed.step ?? "?"})` : ""}`,
        );
      case "wave-start":
        return line(`== ${e.version}: ${e.nodes.join(", ")}`);
      case "batch-start":
        return line(`-- batch: ${e.nodes.join(", ")}`);
      case "gate":
        return line(`${e.ok ? "ok  " : "FAIL"} gate ${e.gate}: ${e.detail}`);
      case "node-skip":
        return line(`${e.node}: skipped at ${e.version} (${e.reason})`);
      case "node-start":
        return line(`${e.node}: ${e.from} -> ${e.to} (${e.method}) ${e.image}`);
      case "step":
        return line(`${e.node}: ${e.step}${e.detail ? ` ${e.detail}` : ""}`);
      case "pull-progress":
        return bar.update(e.offset, e.total, `${e.node}: pulling ${e.layer} `);
      case "machine-status":
        return line(`${e.node}: ${e.stage}${e.ready ? ", ready" : ""}`);
      case "reconnect":
        return line(`${e.node}: waiting (attempt ${e.attempt}: ${e.reason})`);
      case "pull-done":
        return line(`${e.node}: pulled ${e.image} in ${(e.durationMs / 1000).toFixed(1)}s`);
      case "etcd-snapshot":
        return line(
          e.reused
            ? `etcd snapshot ${e.path} (${e.bytes} bytes) reused`
            : `etcd snapshot ${e.path} (${e.bytes} bytes) from ${e.node} in ${(e.durationMs / 1000).toFixed(1)}s`,
        );
      case "etcd-leadership":
        return line(`${e.node}: etcd leadership ${e.moved ? "handed on" : "kept"} (${e.detail})`);
      case "evict":
        return line(`${e.node}: evicted ${e.pod}`);
      case "evict-refused":
        return line(`${e.node}: eviction of ${e.pod} refused, retrying (${e.detail})`);
      case "pod-forced":
        return line(
          `${e.node}: FORCED deletion of ${e.pod}${e.budgets.length ? `, bypassing budget ${e.budgets.join(", ")}` : ""} (grace ${e.gracePeriodSeconds ?? "default"}s)`,
        );
      case "kubernetes-node":
        return line(
          `${e.node}: Kubernetes node ${e.name} ${e.ready ? "Ready" : "NotReady"}${e.kubeletVersion ? `, kubelet ${e.kubeletVersion}` : ""}${e.detail ? ` (${e.detail})` : ""}`,
        );
      case "node-done":
        return line(
          `${e.node}: done, ${e.version} schematic ${short(e.schematic)} in ${(e.durationMs / 1000).toFixed(1)}s`,
        );
      case "node-failed":
        return line(`${e.node}: FAILED at ${e.error.step ?? "?"}: ${e.error.message}`);
      case "run-done":
        return line(
          `${e.ok ? "done" : "stopped"}: ${e.upgraded} upgraded, ${e.skipped} skipped in ${(e.durationMs / 1000).toFixed(1)}s`,
        );
      default:
        return;
    }
  };
}

function parseBatch(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--batch must be a whole number of at least 1, not "${text}"`);
  return n;
}

/** The `upgrade` command with `plan` and `run`. */
export function upgradeCommand(io: UpgradeCommandIO = defaultIO): Command {
  const upgrade = new Command("upgrade").description(
    "plan and run Talos upgrades: every minor on the way, schematics kept, one safe step at a time",
  );

  const plan = withGlobalFlags(planOptions(new Command("plan")))
    .description("show the version path, installer images, order and gates for each node")
    .option("--batch <n>", "workers per batch in the order shown (as upgrade run --batch)", "1")
    .addHelpText("after", PLAN_HELP);
  actionReportingJson(plan, io, async (opts: PlanFlags & { batch: string }) => {
    const flags = globalFlags(plan);
    const batchSize = parseBatch(opts.batch);
    const p = await makePlan(flags, opts, io);
    try {
      showPlan(io, flags.output, opts.json, p.plan, {
        batchSize,
        drain: !!p.kube,
        kubernetesGate: false,
      });
      const changes = p.plan.nodes.some((n) => n.action === "upgrade");
      process.exitCode = changes ? PLAN_EXIT.changes : PLAN_EXIT.unchanged;
    } finally {
      p.close();
    }
  });

  const run = withGlobalFlags(planOptions(new Command("run")))
    .description("upgrade the nodes: control planes one at a time, then workers in batches")
    .option("--batch <n>", "workers upgraded at once", "1")
    .option("--dry-run", "print the plan and do nothing")
    .option(
      "--no-drain",
      "with --kubeconfig: do not cordon, drain and wait for Kubernetes nodes to be Ready",
    )
    .option(
      "--kubernetes-gate",
      "with --kubeconfig (the default): before each control plane and worker batch, wait until every Kubernetes node of the plan is Ready and no disruption budget is in the way",
    )
    .option("--no-kubernetes-gate", "with --kubeconfig: do not run the Kubernetes gate")
    .option("--drain-timeout <duration>", "how long each node's drain may take", "5m")
    .option(
      "--force-after <duration>",
      "delete pods a disruption budget still refuses this long into a drain (reported; off by default)",
    )
    .addOption(
      new Option("--reboot-mode <mode>", "reboot mode")
        .choices(["default", "powercycle"])
        .default("default"),
    )
    .option("--timeout <duration>", "how long a node may take to come back after its reboot", "15m")
    .option("--stage", "legacy upgrades (Talos < 1.13): stage the upgrade for the next reboot")
    .option("--preserve", "legacy upgrades (Talos < 1.13): preserve data")
    .option("--force", "legacy upgrades (Talos < 1.13): skip the node's own etcd checks")
    .option(
      "--etcd-snapshot <path>",
      "where to save the etcd snapshot taken before the first control plane goes down (default: etcd-<node>-<time>.snapshot here)",
    )
    .option("--no-etcd-snapshot", "do not save an etcd snapshot before the control planes");
  run.option(
    "--state <file>",
    "keep the run's state in FILE (JSON, rewritten after each node); a run with the same plan and FILE resumes it (default: none)",
  );
  actionReportingJson(
    run,
    io,
    async (
      opts: PlanFlags & {
        batch: string;
        dryRun?: boolean;
        drain: boolean;
        kubernetesGate?: boolean;
        drainTimeout: string;
        forceAfter?: string;
        rebootMode: "default" | "powercycle";
        timeout: string;
        stage?: boolean;
        preserve?: boolean;
        force?: boolean;
        state?: string;
        etcdSnapshot: string | boolean;
      },
    ) => {
      const flags = globalFlags(run);
      const batchSize = parseBatch(opts.batch);
      const rebootMs = parseDuration(opts.timeout);
      const drain = {
        timeoutMs: parseDuration(opts.drainTimeout, "--drain-timeout"),
        forceAfterMs:
          opts.forceAfter === undefined
            ? undefined
            : parseDuration(opts.forceAfter, "--force-after"),
      };
      const statePath = opts.state === undefined ? undefined : userPath(io.env, opts.state);
      const p = await makePlan(flags, opts, io);
      try {
        if (opts.dryRun) {
          printDryRun(io, flags.output, p, { ...opts, batchSize, statePath });
          return;
        }
        const print = (summary: UpgradeSummary) =>
          opts.json
            ? jsonLine(io, { type: "summary", time: now(), ...summary })
            : printSummary(io, flags.output, summary);
        const ac = new AbortController();
        const onSignal = () => ac.abort(new Error("interrupted"));
        process.once("SIGINT", onSignal);
        try {
          const summary = await runUpgrade(p.client, p.plan, {
            batchSize,
            signal: ac.signal,
            kube: opts.drain ? p.kube : undefined,
            drain,
            gates: { kubernetes: opts.kubernetesGate !== false },
            rebootMode: opts.rebootMode,
            legacy: {
              stage: opts.stage,
              preserve: opts.preserve,
              force: opts.force,
              rebootMode: opts.rebootMode,
            },
            timeouts: { rebootMs },
            etcdSnapshot:
              opts.etcdSnapshot === false
                ? false
                : typeof opts.etcdSnapshot === "string"
                  ? { path: userPath(io.env, opts.etcdSnapshot) }
                  : { dir: userPath(io.env, ".") },
            state: statePath ? { path: statePath } : undefined,
            onEvent: opts.json ? (e) => jsonLine(io, eventJson(e)) : progressPrinter(io),
          });
          print(summary);
        } catch (error) {
          if (error instanceof UpgradeRunError) {
            print(error.summary);
            io.stderr(`taloskit: ${error.message}\n`);
            process.exitCode = 1;
            return;
          }
          throw error;
        } finally {
          process.off("SIGINT", onSignal);
        }
      } finally {
        p.close();
      }
    },
  );

  return upgrade.addCommand(plan).addCommand(run);
}
