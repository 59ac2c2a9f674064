// The state file of a rolling upgrade: the plan it runs (target, each node's
// steps and installer images), each node's status and installed versions,
// where it failed, and whether an installer is written but not booted. It is
// rewritten whole (temp file, then rename) after every change of a node, so
// a reader never sees half a file. A run given the state file of an earlier
// run of the same plan resumes it; a state file of another plan, or one that
// is not a taloskit upgrade state, stops the run before any node is touched.
// Writes go out one at a time in the background, changes made meanwhile
// together in the next; before each node the run waits until the file holds
// everything so far.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { messageOf } from "@taloskit/core";
import { z } from "zod";
import { UpgradeError, type UpgradeStep } from "./errors.js";
import { errorJson, type UpgradeErrorJson, type UpgradeEvent } from "./events.js";
import type { PlannedStep, PlannedWave, UpgradePlan } from "./plan.js";

/** The `kind` of a taloskit upgrade state file. */
export const UPGRADE_STATE_KIND = "taloskit/upgrade-state";

/** Where runUpgrade keeps its state (RunUpgradeOptions.state). */
export interface UpgradeStateOptions {
  /** The state file: read (when it exists) before the run, rewritten after each node's change. */
  path: string;
}

/** One node in a state file. */
export interface UpgradeStateNode {
  /** The node's address, as in the plan. */
  node: string;
  role: "controlplane" | "worker";
  /** Its version when the upgrade was planned. */
  from: string;
  /** What the plan installs on it, in order. */
  steps: PlannedStep[];
  /** "done" once it runs its last step (upgraded, or found already there). */
  status: "pending" | "upgrading" | "done" | "failed";
  /** Versions the runs of this state installed on it, in order. */
  installed: string[];
  /** The step under way (or where it failed). */
  step: UpgradeStep | undefined;
  /** An installer is on its disk and not booted yet: its next reboot boots it. */
  installPending: boolean;
}

/** The content of a state file (JSON). */
export interface UpgradeState {
  /** Always UPGRADE_STATE_KIND: what tells a state file from other JSON. */
  kind: typeof UPGRADE_STATE_KIND;
  /** The format's version. */
  version: 1;
  /** The plan's target Talos version. */
  target: string;
  /** The plan's installer registry. */
  registry: string;
  /** "running" while a run goes on (or after it was killed), then "failed" or "done". */
  status: "running" | "failed" | "done";
  /** RFC 3339 times of the first run's start and of the last write. */
  startedAt: string;
  updatedAt: string;
  /** The plan's waves. */
  waves: PlannedWave[];
  /** Every node of the plan, in its order. */
  nodes: UpgradeStateNode[];
  /** Why the last run stopped, while the state is "failed". */
  failure: UpgradeErrorJson | undefined;
  /** Path of the etcd snapshot taken for this upgrade, when one was. */
  etcdSnapshot?: string | undefined;
}

const STEPS = [
  "plan",
  "gate",
  "cordon",
  "drain",
  "pull",
  "install",
  "legacy-upgrade",
  "reboot",
  "wait",
  "verify",
  "uncordon",
  "state",
] as const satisfies readonly UpgradeStep[];

const stateSchema = z.object({
  kind: z.literal(UPGRADE_STATE_KIND),
  version: z.literal(1),
  target: z.string(),
  registry: z.string(),
  status: z.enum(["running", "failed", "done"]),
  startedAt: z.string(),
  updatedAt: z.string(),
  waves: z.array(
    z.object({
      version: z.string(),
      controlPlanes: z.array(z.string()),
      workers: z.array(z.string()),
    }),
  ),
  nodes: z.array(
    z.object({
      node: z.string(),
      role: z.enum(["controlplane", "worker"]),
      from: z.string(),
      steps: z.array(
        z.object({
          version: z.string(),
          image: z.string(),
          schematic: z.string(),
          method: z.enum(["lifecycle", "legacy"]),
        }),
      ),
      status: z.enum(["pending", "upgrading", "done", "failed"]),
      installed: z.array(z.string()),
      step: z.enum(STEPS).optional(),
      installPending: z.boolean(),
    }),
  ),
  failure: z
    .object({
      code: z.string(),
      step: z.enum(STEPS).optional(),
      node: z.string().optional(),
      version: z.string().optional(),
      installPending: z.boolean(),
      message: z.string(),
    })
    .optional(),
  etcdSnapshot: z.string().optional(),
});

/** A state file is a few KiB per node; anything far larger is not one. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

function invalid(path: string, what: string, cause?: unknown): UpgradeError {
  return new UpgradeError(
    "UPGRADE_STATE_INVALID",
    `${path} is not a usable taloskit upgrade state: ${what}`,
    { step: "state", cause },
  );
}

function parseState(path: string, text: string): UpgradeState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not valid JSON (${messageOf(error)}); truncated?`, error);
  }
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (kind !== UPGRADE_STATE_KIND) {
    throw invalid(path, `its "kind" is ${JSON.stringify(kind)}, not "${UPGRADE_STATE_KIND}"`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`));
    throw invalid(path, `${field?.join("").slice(1) || "the file"}: ${issue?.message}`);
  }
  return parsed.data as UpgradeState;
}

/** The images each node installs, in order. */
const imagesOf = (steps: readonly PlannedStep[]) => steps.map((s) => s.image);

/**
 * Refuses a plan the state does not record. Nodes may have moved along their
 * recorded steps since (a new plan of a half-done upgrade has fewer steps):
 * each node's images must be the last ones recorded for it.
 */
function assertSamePlan(state: UpgradeState, plan: UpgradePlan, path: string): void {
  const refuse = (what: string, node?: string) =>
    new UpgradeError(
      "UPGRADE_STATE_MISMATCH",
      `${path} records another upgrade: ${what}. Remove it (or give another state file) to start a new upgrade`,
      { step: "state", node },
    );
  if (state.target !== plan.target) {
    throw refuse(`its target is ${state.target}, this plan's ${plan.target}`);
  }
  const recorded = new Map(state.nodes.map((n) => [n.node, n]));
  for (const n of plan.nodes) {
    const r = recorded.get(n.node);
    if (!r) throw refuse(`it has no node ${n.node}`, n.node);
    const before = imagesOf(r.steps);
    const now = imagesOf(n.steps);
    const tail = before.slice(before.length - now.length);
    const i = now.findIndex((image, j) => image !== tail[j]);
    if (now.length > before.length || i >= 0) {
      throw refuse(
        `${n.node} installs ${now.join(", ")} in this plan, the state file records ${before.join(", ") || "nothing"}`,
        n.node,
      );
    }
  }
  const planned = new Set(plan.nodes.map((n) => n.node));
  const missing = state.nodes.find((n) => !planned.has(n.node));
  if (missing)
    throw refuse(`it has node ${missing.node}, which this plan leaves out`, missing.node);
}

/**
 * Reads a state file; undefined when there is none. With a plan, also checks
 * that the file records that plan (UPGRADE_STATE_MISMATCH otherwise). Throws
 * UPGRADE_STATE_INVALID, naming the file and the problem, for anything that is
 * not a taloskit upgrade state.
 */
export function readUpgradeState(path: string, plan?: UpgradePlan): UpgradeState | undefined {
  let text: string;
  try {
    if (statSync(path).size > MAX_STATE_BYTES) {
      throw invalid(path, `larger than ${MAX_STATE_BYTES} bytes`);
    }
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    if (error instanceof UpgradeError) throw error;
    throw invalid(path, `cannot be read (${messageOf(error)})`, error);
  }
  const state = parseState(path, text);
  if (plan) assertSamePlan(state, plan, path);
  return state;
}

function newState(plan: UpgradePlan): UpgradeState {
  const now = new Date().toISOString();
  return {
    kind: UPGRADE_STATE_KIND,
    version: 1,
    target: plan.target,
    registry: plan.registry,
    status: "running",
    startedAt: now,
    updatedAt: now,
    waves: plan.waves,
    nodes: plan.nodes.map((n) => ({
      node: n.node,
      role: n.role,
      from: n.version,
      steps: n.steps,
      status: n.action === "skip" ? "done" : "pending",
      installed: [],
      step: undefined,
      installPending: false,
    })),
    failure: undefined,
  };
}

function writeFailed(path: string, error: unknown): UpgradeError {
  return new UpgradeError(
    "UPGRADE_STATE_WRITE_FAILED",
    `cannot write the upgrade state to ${path}: ${messageOf(error)}`,
    { step: "state", cause: error },
  );
}

/** The text of a state file, stamped now. */
function stateText(state: UpgradeState): string {
  state.updatedAt = new Date().toISOString();
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** Writes the whole file beside itself, then renames it over the old one. */
function writeStateNow(path: string, state: UpgradeState): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, stateText(state), { mode: 0o600 });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw writeFailed(path, error);
  }
}

/** As writeStateNow, without blocking the run's other nodes. */
async function writeState(path: string, state: UpgradeState): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, stateText(state), { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw writeFailed(path, error);
  }
}

/** A run's state file, kept up to date from the run's events. */
export interface UpgradeStateRecorder {
  readonly path: string;
  readonly state: UpgradeState;
  /** The file existed: this run resumes it. */
  readonly resumed: boolean;
  /** The earlier run's failure, when it failed. */
  readonly earlierFailure: UpgradeErrorJson | undefined;
  /** Updates the state from an event and writes it when a node changed; never throws. */
  onEvent(event: UpgradeEvent): void;
  /** Resolves once the file holds every change so far; throws the first write failure. */
  checkpoint(): Promise<void>;
  /** Records the end of the run: done, or the failure that stopped it. */
  finish(error?: unknown): Promise<void>;
}

/**
 * Opens the state of a run of `plan` at `path`: resumes the file when it
 * exists (refusing another plan), else starts one; writes it once before
 * the run touches anything. Throws UpgradeError (UPGRADE_STATE_*).
 */
export function openUpgradeState(path: string, plan: UpgradePlan): UpgradeStateRecorder {
  const earlier = readUpgradeState(path, plan);
  const state = earlier ?? newState(plan);
  const earlierFailure = earlier?.failure;
  state.status = "running";
  state.failure = undefined;
  for (const n of state.nodes) if (n.status !== "done") n.status = "pending";
  writeStateNow(path, state);

  const byNode = new Map(state.nodes.map((n) => [n.node, n]));
  // One write at a time; changes made while one runs go out together in the next.
  let writing: Promise<void> | undefined;
  let dirty = false;
  let writeError: unknown;
  const flush = async () => {
    while (dirty) {
      dirty = false;
      await writeState(path, state).catch((error: unknown) => {
        writeError ??= error;
      });
    }
    writing = undefined;
  };
  const save = () => {
    dirty = true;
    writing ??= flush();
    return writing;
  };
  const isLast = (n: UpgradeStateNode, version: string) => n.steps.at(-1)?.version === version;

  return {
    path,
    state,
    resumed: earlier !== undefined,
    earlierFailure,
    onEvent(e) {
      const n = "node" in e && e.node !== undefined ? byNode.get(e.node) : undefined;
      if (!n) return;
      switch (e.type) {
        case "node-start":
          n.status = "upgrading";
          n.step = undefined;
          break;
        case "step":
          // The step after the install started: the installer is on the disk until the node boots it.
          if (n.step === "install" || n.step === "legacy-upgrade") n.installPending = true;
          if (e.step === "verify") n.installPending = false;
          n.step = e.step;
          break;
        case "node-done":
          n.installed.push(e.version);
          n.status = isLast(n, e.version) ? "done" : "pending";
          n.step = undefined;
          n.installPending = false;
          break;
        case "node-skip":
          if (!isLast(n, e.version) || n.status === "done") return;
          n.status = "done";
          break;
        case "node-failed":
          n.status = "failed";
          n.installPending = e.error.installPending;
          break;
        default:
          return;
      }
      void save();
    },
    async checkpoint() {
      await save();
      if (writeError) throw writeError;
    },
    async finish(error) {
      if (error === undefined) {
        state.status = "done";
      } else {
        const failure = errorJson(error);
        state.status = "failed";
        state.failure = failure;
        const n = failure.node ? byNode.get(failure.node) : undefined;
        if (n && n.status !== "done") {
          n.status = "failed";
          n.step = failure.step;
          n.installPending = failure.installPending;
        }
      }
      await save();
      if (writeError) throw writeError;
    },
  };
}
