// `taloskit reboot`, `shutdown` and `reset`: talosctl's power commands. With
// --wait (talosctl's default) each node is followed until it is back with a
// new boot ID (reboot) or gone (shutdown, reset). A reset names what it wipes
// and asks first on a terminal unless --yes; without a terminal it needs --yes.
import { createInterface } from "node:readline/promises";
import { RebootRequest_Mode, ResetRequest_WipeMode } from "@taloskit/api/machine";
import { TalosError } from "@taloskit/client";
import { Command, Option } from "commander";
import { readBootId } from "../../upgrade/inspect.js";
import {
  type CommandIO,
  type GlobalFlags,
  globalFlags,
  parseDuration,
  processIO,
  withGlobalFlags,
} from "../globals.js";
import { boolOption, callOf, type NodeTarget, onEachNode, printRows } from "./node-action.js";

/** Where the power commands read and write; `confirm` asks a yes/no question on the terminal. */
export interface PowerCommandIO extends CommandIO {
  /** Whether a person can answer (stdin and stderr are terminals). */
  interactive?: boolean;
  confirm?: (question: string) => Promise<boolean>;
}

const defaultIO: PowerCommandIO = { ...processIO };

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** The node's boot ID (it changes with every boot): the BootID resource, else /proc. */
async function bootId(t: NodeTarget): Promise<string> {
  const version = (await t.client.nodeState(t.node).talosVersion()) ?? "";
  return (await readBootId(t.client, t.node, version, callOf(t))) ?? "";
}

/** A wait that ran out of time (a TalosError, so the fan-out reports it as it is). */
const timedOut = (message: string) => new TalosError("DEADLINE_EXCEEDED", message);

/** Polls `check` until it answers true, or fails after `timeoutMs`. */
async function until(
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
  check: (signal: AbortSignal) => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut(`timed out after ${timeoutMs} ms waiting until ${what}`);
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(Math.min(left, 5_000))]);
    if (await check(attempt).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
  }
}

/**
 * Follows the node's event stream: resolves once the stream is live, with a
 * promise of the node going down (the stream ends or breaks, as it does when
 * the node stops) and a way to stop following.
 */
async function watchDown(
  t: NodeTarget,
  timeoutMs: number,
): Promise<{ down: () => Promise<void>; close: () => void }> {
  const limit = AbortSignal.timeout(timeoutMs);
  const stop = new AbortController();
  const events = t.client.streams.events(
    { tailEvents: 1 },
    { node: t.node, signal: AbortSignal.any([t.signal, limit, stop.signal]), timeoutMs },
  );
  await events.next();
  return {
    async down() {
      try {
        while (!(await events.next()).done) {}
      } catch (error) {
        if (limit.aborted)
          throw timedOut(`timed out after ${timeoutMs} ms waiting for the node to go down`);
        if (t.signal.aborted) throw error;
      }
    },
    close: () => stop.abort(),
  };
}

/** Runs `call` with the node's event stream open, and waits until the node goes down. */
async function callThenDown<T>(t: NodeTarget, timeoutMs: number, call: () => Promise<T>) {
  const watch = await watchDown(t, timeoutMs);
  try {
    const value = await call();
    await watch.down();
    return value;
  } finally {
    watch.close();
  }
}

interface PowerRow {
  node: string;
  actorId: string;
  status: string;
  bootId?: string;
}

function printPower(io: CommandIO, flags: GlobalFlags, rows: PowerRow[]): void {
  printRows(io, flags, rows, [
    { header: "NODE", value: (r) => r.node },
    { header: "STATUS", value: (r) => r.status },
    { header: "ACTOR ID", value: (r) => r.actorId },
  ]);
}

const actorOf = (res: { messages: { actorId: string }[] }) => res.messages[0]?.actorId ?? "";

const progress = (io: CommandIO, t: NodeTarget, text: string) =>
  io.stderr(`${t.node ?? t.client.endpoints[0] ?? ""}: ${text}\n`);

interface WaitFlags {
  wait: boolean;
  timeout: string;
}

function waitOptions(cmd: Command): Command {
  return cmd
    .addOption(
      boolOption("--wait", "wait for the operation to complete, following each node", true),
    )
    .option("--timeout <duration>", "how long to wait for the operation to complete", "30m");
}

/** The `reboot` command. */
export function rebootCommand(io: CommandIO = processIO): Command {
  const cmd = waitOptions(
    withGlobalFlags(new Command("reboot").description("reboot the nodes")),
  ).addOption(
    new Option("-m, --mode <mode>", "reboot mode")
      .choices(["default", "powercycle", "force"])
      .default("default"),
  );
  return cmd.action(async (opts: WaitFlags & { mode: "default" | "powercycle" | "force" }) => {
    const timeoutMs = parseDuration(opts.timeout);
    const mode = {
      default: RebootRequest_Mode.DEFAULT,
      powercycle: RebootRequest_Mode.POWERCYCLE,
      force: RebootRequest_Mode.FORCE,
    }[opts.mode];
    const { flags, results } = await onEachNode(
      cmd,
      io,
      async (t): Promise<Omit<PowerRow, "node">> => {
        const call = () => t.services.machine.reboot({ mode }, callOf(t));
        if (!opts.wait) return { actorId: actorOf(await call()), status: "rebooting" };
        // The boot ID, when it can be read, proves the boot is a new one; the
        // event stream dropping proves the node went down.
        const before = await bootId(t).catch(() => "");
        const res = await callThenDown(t, timeoutMs, () => {
          progress(io, t, "rebooting");
          return call();
        });
        const actorId = actorOf(res);
        let after = "";
        await until("the node was back", timeoutMs, t.signal, async () => {
          after = await bootId(t).catch(() => "");
          if (before) return after !== "" && after !== before;
          await t.services.machine.version({}, callOf(t));
          return true;
        });
        progress(io, t, "back up");
        return { actorId, status: "rebooted", bootId: after };
      },
    );
    printPower(
      io,
      flags,
      results.map(({ node, value }) => ({ node, ...value })),
    );
  });
}

/**
 * Sends a call that takes each node down (shutdown, reset) and, with `wait`,
 * follows it until it is down; prints a row per node.
 */
async function stopNodes(
  cmd: Command,
  io: CommandIO,
  wait: boolean,
  timeoutMs: number,
  [going, gone]: [string, string],
  call: (t: NodeTarget) => Promise<{ messages: { actorId: string }[] }>,
): Promise<void> {
  const { flags, results } = await onEachNode(
    cmd,
    io,
    async (t): Promise<Omit<PowerRow, "node">> => {
      if (!wait) return { actorId: actorOf(await call(t)), status: going };
      const res = await callThenDown(t, timeoutMs, () => {
        progress(io, t, going);
        return call(t);
      });
      return { actorId: actorOf(res), status: gone };
    },
  );
  printPower(
    io,
    flags,
    results.map(({ node, value }) => ({ node, ...value })),
  );
}

/** The `shutdown` command. */
export function shutdownCommand(io: CommandIO = processIO): Command {
  const cmd = waitOptions(
    withGlobalFlags(new Command("shutdown").description("shut the nodes down")),
  ).option("--force", "shut down without cordoning and draining the Kubernetes node");
  return cmd.action(async (opts: WaitFlags & { force?: boolean }) => {
    const timeoutMs = parseDuration(opts.timeout);
    await stopNodes(cmd, io, opts.wait, timeoutMs, ["shutting down", "shut down"], (t) =>
      t.services.machine.shutdown({ force: opts.force === true }, callOf(t)),
    );
  });
}

const WIPE_MODES = {
  all: ResetRequest_WipeMode.ALL,
  "system-disk": ResetRequest_WipeMode.SYSTEM_DISK,
  "user-disks": ResetRequest_WipeMode.USER_DISKS,
} as const;

interface ResetFlags extends WaitFlags {
  graceful: boolean;
  reboot: boolean;
  systemLabelsToWipe?: string[];
  userDisksToWipe?: string[];
  wipeMode: keyof typeof WIPE_MODES;
  yes?: boolean;
}

/** What a reset does, in words: which data goes, how, and what the machine does after. */
export function describeReset(o: ResetFlags): string {
  const labels = o.systemLabelsToWipe ?? [];
  const disks = o.userDisksToWipe ?? [];
  const parts: string[] = [];
  if (o.wipeMode !== "user-disks") {
    parts.push(
      labels.length
        ? `system partitions ${labels.join(", ")}${labels.includes("STATE") ? " (STATE holds the machine config)" : ""}${labels.includes("EPHEMERAL") ? " (EPHEMERAL holds /var: etcd data, container images, pod volumes)" : ""}`
        : "the whole system disk (every partition: the machine config in STATE, /var in EPHEMERAL with etcd data, images and volumes)",
    );
  }
  if (o.wipeMode !== "system-disk") {
    if (disks.length) parts.push(`user disks ${disks.join(", ")}`);
    else if (o.wipeMode === "user-disks") parts.push("user volumes");
  }
  const how = o.graceful
    ? "gracefully (the node is cordoned and drained, and a control plane leaves etcd first)"
    : "not gracefully (no drain, etcd is not left: remove the member yourself)";
  const after = o.reboot
    ? "then reboots (into maintenance mode when the config was wiped)"
    : "then powers off";
  return `wipes ${parts.join(" and ")}, ${how}, ${after}`;
}

/** The `reset` command. */
export function resetCommand(io: PowerCommandIO = defaultIO): Command {
  const cmd = waitOptions(
    withGlobalFlags(
      new Command("reset").description(
        "wipe the nodes and return them to maintenance mode or power them off (asks first)",
      ),
    ),
  )
    .addOption(
      boolOption("--graceful", "cordon and drain the node and leave etcd before wiping", true),
    )
    .addOption(boolOption("--reboot", "reboot after the reset instead of powering off", false))
    .option(
      "--system-labels-to-wipe <label>",
      "system partition to wipe (STATE, EPHEMERAL, ...; repeat or comma separate); default: the whole system disk",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(",").filter(Boolean)],
    )
    .option(
      "--user-disks-to-wipe <disk>",
      "user disk to wipe (repeat or comma separate)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(",").filter(Boolean)],
    )
    .addOption(
      new Option("--wipe-mode <mode>", "what to wipe")
        .choices(Object.keys(WIPE_MODES))
        .default("all"),
    )
    .option("-y, --yes", "do not ask for confirmation");
  return cmd.action(async (opts: ResetFlags) => {
    const timeoutMs = parseDuration(opts.timeout);
    const what = describeReset(opts);
    const confirm = async (flags: GlobalFlags) => {
      if (opts.yes) return;
      const nodes = flags.nodes?.length ? flags.nodes.join(", ") : "the nodes of the context";
      const interactive =
        io.interactive ?? (process.stdin.isTTY === true && process.stderr.isTTY === true);
      if (!interactive) {
        throw new Error(
          `reset of ${nodes} ${what}: refusing without a terminal to confirm; pass --yes to go ahead`,
        );
      }
      const ok = await (io.confirm ?? askOnTerminal)(`reset of ${nodes} ${what}.\nReset? [y/N] `);
      if (!ok) throw new Error(`reset of ${nodes} cancelled: nothing was done`);
    };
    await confirm(globalFlags(cmd));
    const request = {
      graceful: opts.graceful,
      reboot: opts.reboot,
      mode: WIPE_MODES[opts.wipeMode],
      systemPartitionsToWipe: (opts.systemLabelsToWipe ?? []).map((label) => ({
        label,
        wipe: true,
      })),
      userDisksToWipe: opts.userDisksToWipe ?? [],
    };
    const done = opts.reboot ? "reset, rebooting" : "reset, powered off";
    await stopNodes(cmd, io, opts.wait, timeoutMs, ["resetting", done], (t) =>
      t.services.machine.reset(request, callOf(t)),
    );
  });
}
