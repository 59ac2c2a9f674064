// The talosctl-style global flags shared by every command that talks to
// nodes, and how they turn into a TalosClient and a list of target nodes.
// The client library is loaded only when a command connects, so that commands
// which never talk to a node (and `--help`) start without it.
import { resolve } from "node:path";
import type { NodeResult, TalosClient } from "@taloskit/client";
import { type Command, Option } from "commander";
import { red } from "./colour.js";
import { FlagError, quotedFlag } from "./errors.js";
import { type OutputFormat, outputOption, parseOutputFormat } from "./output.js";

/** Parsed global flags. */
export interface GlobalFlags {
  talosconfig?: string;
  context?: string;
  endpoints?: string[];
  nodes?: string[];
  insecure?: boolean;
  certFingerprint?: string[];
  output: OutputFormat;
}

/** Where a command writes (the process by default; tests pass their own). */
export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** The process's stdout, stderr and environment. */
export const processIO: CommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

/**
 * How a command's failure is reported (main's catch, for every command): one line
 * on stderr, the message's lines joined, and exit code 1.
 */
export function reportFailure(error: unknown, io: Pick<CommandIO, "stderr"> = processIO): void {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`${red("taloskit:", "stderr")} ${message.trim().replace(/\s*\n\s*/g, " ")}\n`);
  process.exitCode = 1;
}

/**
 * The directory the user ran taloskit from. Through the root script
 * (`pnpm taloskit ...`) pnpm runs it from the workspace root and names the
 * user's directory in INIT_CWD; main changes to it, so that relative paths on
 * the command line mean what the user typed.
 */
export function userDirectory(env: Record<string, string | undefined>, cwd: string): string {
  const initial = env.INIT_CWD;
  if (env.npm_lifecycle_event === "taloskit" && initial && resolve(initial) !== resolve(cwd))
    return resolve(initial);
  return cwd;
}

/** The names of the global flags that take a value (`-n`, `--nodes`, ...). */
export function globalFlagsWithValues(): Set<string> {
  const names = new Set<string>();
  for (const o of globalOptions()) {
    if (!o.required && !o.optional) continue;
    if (o.long) names.add(o.long);
    if (o.short) names.add(o.short);
  }
  return names;
}

const list = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean),
];

/** The global flags, as new options (an Option belongs to one command). */
function globalOptions(): Option[] {
  return [
    new Option("--talosconfig <path>", "talosconfig file (default: $TALOSCONFIG, ~/.talos/config)"),
    new Option("--context <name>", "talosconfig context to use"),
    new Option("-e, --endpoints <list>", "endpoints to connect to (comma separated)").argParser(
      list,
    ),
    new Option("-n, --nodes <list>", "nodes to run the command on (comma separated)").argParser(
      list,
    ),
    new Option(
      "-i, --insecure",
      "maintenance mode: connect to the nodes without a client certificate",
    ),
    new Option(
      "--cert-fingerprint <list>",
      "with --insecure: accepted server certificate SPKI fingerprints",
    ).argParser(list),
    outputOption(),
  ];
}

/** The global flags whose values are lists: given before and after the command, they add up. */
const LIST_FLAGS = new Set(["endpoints", "nodes", "certFingerprint"]);

/** Adds --talosconfig, --context, -e, -n, --insecure, --cert-fingerprint and -o to a command. */
export function withGlobalFlags(cmd: Command): Command {
  for (const option of globalOptions()) cmd.addOption(option);
  return cmd;
}

/**
 * Accepts the global flags before or after any command, as talosctl's
 * persistent flags are (`taloskit --talosconfig F -n N version` and
 * `taloskit version --talosconfig F -n N`): `root` and every command with
 * subcommands take them and stop reading options at the subcommand's name, and
 * leaves that lack them take them hidden (a leaf's own option of the same name,
 * such as `sim --nodes`, keeps its meaning, and `-o` is only where a command has
 * an output). Before the command runs, the values given before it are handed
 * down to it: the one nearest the command wins, and lists add up.
 */
export function acceptGlobalFlags(root: Command): Command {
  const visit = (cmd: Command, depth: number) => {
    const group = cmd.commands.length > 0;
    if (group) cmd.enablePositionalOptions();
    for (const option of globalOptions()) {
      const key = option.attributeName();
      const taken = cmd.options.some(
        (o) =>
          o.attributeName() === key ||
          o.long === option.long ||
          (option.short !== undefined && o.short === option.short),
      );
      if (taken || (!group && key === "output")) continue;
      if (depth > 0) option.hideHelp();
      cmd.addOption(option);
    }
    for (const sub of cmd.commands) visit(sub, depth + 1);
  };
  visit(root, 0);
  return root.hook("preAction", (_root, action) => inheritGlobalFlags(action));
}

/** Hands the global flags given on `cmd`'s ancestors down to `cmd` (see {@link acceptGlobalFlags}). */
function inheritGlobalFlags(cmd: Command): void {
  const chain: Command[] = [];
  for (let c: Command | null = cmd.parent; c; c = c.parent) chain.unshift(c);
  for (const option of globalOptions()) {
    const key = option.attributeName();
    if (!cmd.options.some((o) => o.attributeName() === key)) continue;
    const given = (c: Command) => {
      const source = c.getOptionValueSource(key);
      return source !== undefined && source !== "default" && c.getOptionValue(key) !== undefined;
    };
    const before = chain.filter(given).map((c) => c.getOptionValue(key) as unknown);
    if (!before.length) continue;
    const own = given(cmd) ? [cmd.getOptionValue(key) as unknown] : [];
    const value = LIST_FLAGS.has(key)
      ? [...before, ...own].flatMap((v) => v as string[])
      : [...before, ...own].at(-1);
    cmd.setOptionValueWithSource(key, value, "cli");
  }
}

/** Reads the global flags of a command (given on it or, through {@link acceptGlobalFlags}, before it). */
export function globalFlags(cmd: Command): GlobalFlags {
  const o = cmd.opts() as Record<string, unknown>;
  return {
    talosconfig: o.talosconfig as string | undefined,
    context: o.context as string | undefined,
    endpoints: o.endpoints as string[] | undefined,
    nodes: o.nodes as string[] | undefined,
    insecure: Boolean(o.insecure),
    certFingerprint: o.certFingerprint as string[] | undefined,
    output: parseOutputFormat(String(o.output ?? "table")),
  };
}

/** A client per target: one shared client normally, one per node in maintenance mode. */
export interface Targets {
  /** The nodes to run on; `undefined` entries mean "the endpoint itself". */
  nodes: (string | undefined)[];
  /** The client for a node. */
  clientFor(node: string | undefined): TalosClient;
  /**
   * Runs `fn` on every target, at most `concurrency` (default 16) at a time;
   * one result per target, in order, named as the user named it (the endpoint
   * when no node was named).
   */
  each<T>(
    fn: (client: TalosClient, node: string | undefined, signal: AbortSignal) => Promise<T>,
    options?: { concurrency?: number },
  ): Promise<NodeResult<T>[]>;
  close(): void;
}

/** Targets over `nodes`, each served by `clientFor`. */
function targetsOf(
  runOnNodes: typeof import("@taloskit/client").runOnNodes,
  nodes: (string | undefined)[],
  clientFor: (node: string | undefined) => TalosClient,
  close: () => void,
): Targets {
  return {
    nodes,
    clientFor,
    close,
    each(fn, options = {}) {
      const labels = nodes.map((n) => n ?? clientFor(n).endpoints[0] ?? "");
      const byLabel = new Map(labels.map((label, i) => [label, nodes[i]]));
      return runOnNodes(
        labels,
        (label, signal) => {
          const node = byLabel.get(label);
          return fn(clientFor(node), node, signal);
        },
        options,
      );
    },
  };
}

/**
 * Builds the clients and target nodes from the global flags, as talosctl
 * does: -n or the context's nodes; with --insecure, each node is its own
 * endpoint and no talosconfig is read.
 */
export async function connectTargets(
  flags: GlobalFlags,
  io: CommandIO = processIO,
): Promise<Targets> {
  const { runOnNodes, TalosClient } = await import("@taloskit/client");
  if (flags.insecure) {
    const nodes = flags.nodes?.length ? flags.nodes : (flags.endpoints ?? []);
    if (!nodes.length)
      throw new FlagError("--insecure needs the nodes to connect to: pass -n/--nodes");
    const clients = new Map<string, TalosClient>();
    for (const node of nodes) {
      clients.set(
        node,
        TalosClient.maintenance(
          flags.certFingerprint?.length
            ? { endpoint: node, fingerprints: flags.certFingerprint }
            : { endpoint: node, insecure: "skip-verification-i-know" },
        ),
      );
    }
    return targetsOf(
      runOnNodes,
      nodes,
      (node) => clients.get(node ?? "") ?? (clients.values().next().value as TalosClient),
      () => {
        for (const c of clients.values()) c.close();
      },
    );
  }
  const client = await TalosClient.fromTalosconfig({
    // absolute, so that an error about the file names it wherever the user stood
    path: flags.talosconfig === undefined ? undefined : resolve(flags.talosconfig),
    context: flags.context,
    endpoints: flags.endpoints,
    nodes: flags.nodes,
    env: io.env,
  });
  return targetsOf(
    runOnNodes,
    client.nodes.length ? [...client.nodes] : [undefined],
    () => client,
    () => client.close(),
  );
}

/** The longest duration a flag takes: about 24 days, setTimeout's limit. */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** Parses a Go-style duration (`90s`, `1m`, `1m30s`, `500ms`) into milliseconds. */
export function parseDuration(text: string, flag = "duration"): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const invalid = (why: string) => new FlagError(`invalid ${flag} ${quotedFlag(text)}: ${why}`);
  if (typeof text !== "string" || text.length > 64) throw invalid("use e.g. 30s, 1m, 1m30s");
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * (unit[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (!text || at !== text.length || !(ms > 0)) throw invalid("use e.g. 30s, 1m, 1m30s");
  if (ms > MAX_DURATION_MS) throw invalid("longer than 24 days");
  return Math.max(1, Math.round(ms));
}
