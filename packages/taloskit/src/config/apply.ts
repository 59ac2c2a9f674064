// Patching the machine config of a live node: read the active config (COSI
// MachineConfig, admin role), merge patches locally with Talos's rules, validate
// against the schema of the node's Talos version, show the diff, and send
// ApplyConfiguration in the chosen mode. Nothing is sent when the patches change
// nothing, and every problem found before the call leaves the node untouched.

import { ApplyConfigurationRequest_Mode } from "@taloskit/api/machine";
import { type NodeResult, RpcError, type TalosClient } from "@taloskit/client";
import { parseYaml } from "@taloskit/core";
import type { ConfigDiff } from "./diff.js";
import { parseConfig, printConfig } from "./documents.js";
import { ConfigApplyError, type ConfigIssue, ConfigPatchError } from "./errors.js";
import { type ConfigPatch, loadPatch, patchConfig } from "./patch.js";
import { redactDiff, redactNodeText, secretFragments } from "./redact.js";
import { invalid, validateConfig } from "./validate.js";
import { type ConfigVersion, configVersion } from "./versions.js";

/** How the node takes the new config (talosctl's `--mode`). */
export type ApplyMode = "auto" | "no-reboot" | "reboot" | "staged" | "try";

/** Every apply mode, in talosctl's spelling. */
export const APPLY_MODES: readonly ApplyMode[] = ["auto", "no-reboot", "reboot", "staged", "try"];

const TO_WIRE: Record<ApplyMode, ApplyConfigurationRequest_Mode> = {
  auto: ApplyConfigurationRequest_Mode.AUTO,
  "no-reboot": ApplyConfigurationRequest_Mode.NO_REBOOT,
  reboot: ApplyConfigurationRequest_Mode.REBOOT,
  staged: ApplyConfigurationRequest_Mode.STAGED,
  try: ApplyConfigurationRequest_Mode.TRY,
};

function fromWire(mode: ApplyConfigurationRequest_Mode): ApplyMode {
  const found = (Object.entries(TO_WIRE) as [ApplyMode, ApplyConfigurationRequest_Mode][]).find(
    ([, v]) => v === mode,
  );
  return found ? found[0] : "auto";
}

/** COSI address of the active machine config. */
export const MACHINE_CONFIG_RESOURCE = {
  namespace: "config",
  type: "MachineConfigs.config.talos.dev",
  id: "v1alpha1",
} as const;

/** Options of {@link patchMachineConfig}. */
export interface PatchMachineConfigOptions {
  /** The node to patch (`node` metadata); default: the client's endpoint itself. */
  node?: string | undefined;
  /** Patches in order: YAML/JSON text (strategic merge or JSON6902) or loaded patches. */
  patches: readonly (string | ConfigPatch)[];
  /** How the node takes the config (default `auto`). */
  mode?: ApplyMode;
  /** Ask the node what it would do, and change nothing. */
  dryRun?: boolean;
  /** With mode `try`: roll back after this long unless confirmed (the node's default is 1 minute). */
  tryTimeoutMs?: number;
  /** Validate for this Talos version instead of the one the node reports. */
  talosVersion?: string;
  /** Keep the values of secret fields (tokens, keys) in the diff; redacted by default. */
  showSecrets?: boolean;
  /** Cancels the reads and the apply. */
  signal?: AbortSignal;
  /** Deadline of each call in ms (default 30 000). */
  timeoutMs?: number;
}

/** What {@link patchMachineConfig} did on a node. */
export interface PatchMachineConfigResult {
  node: string | undefined;
  /** The Talos version the node reports, e.g. `v1.14.0`. */
  talosVersion: string;
  /** The schema the merged config was validated against. */
  schemaVersion: ConfigVersion;
  /** Whether the patches change the config at all. */
  changed: boolean;
  /** Whether ApplyConfiguration was sent (false when nothing changed). */
  applied: boolean;
  dryRun: boolean;
  requestedMode: ApplyMode;
  /** The mode the node used (`auto` resolved); undefined when nothing was sent. */
  mode: ApplyMode | undefined;
  /** The change takes effect only through a reboot (mode `reboot`, or `staged`). */
  rebootRequired: boolean;
  /** The node is rebooting now to take the config (never in a dry run). */
  rebooting: boolean;
  /** The node's own summary (`mode_details`); in a dry run, its diff too. */
  modeDetails: string;
  /** Warnings from the node, and validation problems the config had before the patches. */
  warnings: string[];
  /** What changed; values of secret fields are redacted unless `showSecrets`. */
  diff: ConfigDiff;
  /** The merged config sent to the node. It holds the node's secrets: do not log it. */
  config: string;
}

function callOptions(o: Pick<PatchMachineConfigOptions, "node" | "signal" | "timeoutMs">) {
  return { node: o.node, signal: o.signal, timeoutMs: o.timeoutMs ?? 30_000 };
}

function checkOptions(o: PatchMachineConfigOptions): ApplyMode {
  const mode = o.mode ?? "auto";
  if (!APPLY_MODES.includes(mode)) {
    throw new ConfigPatchError(
      "CONFIG_BAD_OPTION",
      `unknown apply mode "${String(mode)}" (known: ${APPLY_MODES.join(", ")})`,
    );
  }
  if (o.tryTimeoutMs !== undefined) {
    if (mode !== "try") {
      throw new ConfigPatchError(
        "CONFIG_BAD_OPTION",
        `a try timeout needs mode "try" (mode is "${mode}")`,
      );
    }
    if (!Number.isFinite(o.tryTimeoutMs) || o.tryTimeoutMs <= 0) {
      throw new ConfigPatchError(
        "CONFIG_BAD_OPTION",
        `the try timeout must be a positive number of milliseconds (got ${o.tryTimeoutMs})`,
      );
    }
  }
  return mode;
}

/** Loads text patches (named `patch 1`, `patch 2`, ...) and passes loaded ones through. */
function loadAll(patches: readonly (string | ConfigPatch)[]): ConfigPatch[] {
  return patches.map((p, i) => (typeof p === "string" ? loadPatch(p, `patch ${i + 1}`) : p));
}

function issueKey(i: ConfigIssue): string {
  return `${i.document}\u0000${i.path}\u0000${i.rule}\u0000${i.message}`;
}

/** Reads the active machine config of a node (needs the os:admin role). */
export async function readMachineConfig(
  client: TalosClient,
  options: { node?: string | undefined; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<{ text: string; version: string }> {
  let res: Awaited<ReturnType<TalosClient["cosi"]["get"]>>;
  try {
    res = await client
      .services(options.node)
      .cosi.get(
        { ...MACHINE_CONFIG_RESOURCE },
        { signal: options.signal, timeoutMs: options.timeoutMs ?? 30_000 },
      );
  } catch (error) {
    if (error instanceof RpcError && error.code === "NOT_FOUND")
      throw noConfig(options.node, error);
    throw error;
  }
  // Talos presents the config as its raw text, so yaml_spec holds that text as one YAML string.
  const yamlSpec = res.resource?.spec?.yamlSpec ?? "";
  let text = yamlSpec;
  try {
    const value: unknown = parseYaml(yamlSpec, { what: "machine config resource" });
    if (typeof value === "string") text = value;
  } catch {
    // Not YAML of a string: older simulators and tools sent the text itself.
  }
  if (!res.resource || !text.trim()) throw noConfig(options.node);
  return { text, version: res.resource.metadata?.version ?? "" };
}

function noConfig(node: string | undefined, cause?: unknown): ConfigApplyError {
  return new ConfigApplyError(
    "CONFIG_NO_MACHINE_CONFIG",
    `${node ? `node ${node}` : "the node"} has no active machine config (${MACHINE_CONFIG_RESOURCE.type} "${MACHINE_CONFIG_RESOURCE.id}"); a node in maintenance mode takes a whole config, not patches`,
    { node, cause },
  );
}

/**
 * Patches a live node's machine config: reads it, merges `patches`, validates the
 * result for the node's Talos version, and applies it in `mode` (or asks the node
 * for a dry run). Returns the diff and what the node did. Bad patches and invalid
 * results throw {@link ConfigPatchError} before anything is sent; the node's refusal
 * throws {@link ConfigApplyError}; transport and permission problems throw the
 * client's errors (e.g. PermissionDeniedError for a client without os:admin).
 */
export async function patchMachineConfig(
  client: TalosClient,
  options: PatchMachineConfigOptions,
): Promise<PatchMachineConfigResult> {
  const requestedMode = checkOptions(options);
  const patches = loadAll(options.patches);
  return patchLoaded(client, options, requestedMode, patches);
}

async function patchLoaded(
  client: TalosClient,
  options: PatchMachineConfigOptions,
  requestedMode: ApplyMode,
  patches: ConfigPatch[],
): Promise<PatchMachineConfigResult> {
  const call = callOptions(options);
  const node = options.node;
  const [talosVersion, current] = await Promise.all([
    readTalosVersion(client, call),
    readMachineConfig(client, call),
  ]);
  const schemaVersion = configVersion(options.talosVersion ?? talosVersion);

  const merged = patchConfig(current.text, patches, { talosVersion: schemaVersion, diff: true });
  const rawDiff = merged.diff as ConfigDiff;

  // Only problems the patches introduce are errors; the node's own are warnings.
  const before = validateConfig(current.text, schemaVersion);
  const after = validateConfig(merged.text, schemaVersion);
  const known = new Set(before.issues.map(issueKey));
  const introduced = after.issues.filter((i) => !known.has(issueKey(i)));
  if (introduced.length) throw invalid({ ...after, valid: false, issues: introduced });
  const warnings = after.issues.map(
    (i) =>
      `config already had a problem: document '${i.document}' path '${i.path}' (${i.rule}): ${i.message}`,
  );

  // Secrets are masked in both texts before the diff, so no line of one can show;
  // the raw text diff is then never made (a ConfigDiff makes it when first read).
  const diff = options.showSecrets
    ? rawDiff
    : redactDiff(rawDiff, {
        before: printConfig(parseConfig(current.text, "base config")),
        after: merged.text,
      });
  const changed =
    rawDiff.changes.length > 0 ||
    rawDiff.addedDocuments.length > 0 ||
    rawDiff.removedDocuments.length > 0;
  const result: PatchMachineConfigResult = {
    node,
    talosVersion,
    schemaVersion,
    changed,
    applied: false,
    dryRun: options.dryRun === true,
    requestedMode,
    mode: undefined,
    rebootRequired: false,
    rebooting: false,
    modeDetails: changed ? "" : "No changes.",
    warnings,
    diff,
    config: merged.text,
  };
  if (!changed) return result;

  const msg = await sendConfig(client, options, requestedMode, merged.text);
  const mode = fromWire(msg?.mode ?? TO_WIRE[requestedMode]);
  result.applied = true;
  result.mode = mode;
  result.rebootRequired = mode === "reboot" || mode === "staged";
  result.rebooting = mode === "reboot" && !result.dryRun;
  result.modeDetails = msg?.modeDetails ?? "";
  result.warnings = [...(msg?.warnings ?? []), ...warnings];
  // The node's summary (in a dry run, its own diff of the two configs) is redacted
  // by key and by the lines of every secret value either config holds.
  if (!options.showSecrets && result.modeDetails) {
    result.modeDetails = redactNodeText(
      result.modeDetails,
      secretFragments(current.text, merged.text),
    );
  }
  return result;
}

/** Sends ApplyConfiguration with a whole config; the node's refusal throws ConfigApplyError. */
async function sendConfig(
  client: TalosClient,
  options: Pick<
    PatchMachineConfigOptions,
    "node" | "dryRun" | "tryTimeoutMs" | "signal" | "timeoutMs"
  >,
  requestedMode: ApplyMode,
  text: string,
) {
  const node = options.node;
  let reply: Awaited<ReturnType<TalosClient["machine"]["applyConfiguration"]>>;
  try {
    reply = await client.services(node).machine.applyConfiguration(
      {
        data: new TextEncoder().encode(text),
        mode: TO_WIRE[requestedMode],
        dryRun: options.dryRun === true,
        ...(options.tryTimeoutMs !== undefined
          ? {
              tryModeTimeout: {
                seconds: BigInt(Math.floor(options.tryTimeoutMs / 1000)),
                nanos: Math.round((options.tryTimeoutMs % 1000) * 1e6),
              },
            }
          : {}),
      },
      callOptions(options),
    );
  } catch (error) {
    throw refusal(error, node, requestedMode);
  }
  const msg = reply.messages[0];
  if (msg?.metadata?.error) {
    throw new ConfigApplyError("CONFIG_REJECTED", nodeSays(node, msg.metadata.error), { node });
  }
  return msg;
}

/** Options of {@link applyMachineConfig}. */
export type ApplyMachineConfigOptions = Omit<
  PatchMachineConfigOptions,
  "patches" | "talosVersion"
> & {
  /** The whole machine config to send (multi-document YAML). */
  config: string;
};

/** What {@link applyMachineConfig} did on a node. */
export type ApplyMachineConfigResult = Pick<
  PatchMachineConfigResult,
  | "node"
  | "dryRun"
  | "requestedMode"
  | "mode"
  | "rebootRequired"
  | "rebooting"
  | "modeDetails"
  | "warnings"
>;

/**
 * Sends a whole machine config to a node (talosctl's apply-config), in `mode` or
 * as a dry run; also to a node in maintenance mode. The config is parsed first:
 * a document that does not parse throws ConfigPatchError before anything is sent.
 * Secret values in the node's summary are redacted unless `showSecrets`.
 */
export async function applyMachineConfig(
  client: TalosClient,
  options: ApplyMachineConfigOptions,
): Promise<ApplyMachineConfigResult> {
  const requestedMode = checkOptions({ ...options, patches: [] });
  parseConfig(options.config, "machine config");
  // A dry run's summary holds the node's diff: the secrets of the config it runs
  // now are masked too (a node in maintenance has none to read).
  const running =
    options.dryRun && !options.showSecrets
      ? await readMachineConfig(client, callOptions(options)).then(
          (c) => c.text,
          () => "",
        )
      : "";
  const msg = await sendConfig(client, options, requestedMode, options.config);
  const mode = fromWire(msg?.mode ?? TO_WIRE[requestedMode]);
  const details = msg?.modeDetails ?? "";
  return {
    node: options.node,
    dryRun: options.dryRun === true,
    requestedMode,
    mode,
    rebootRequired: mode === "reboot" || mode === "staged",
    rebooting: mode === "reboot" && options.dryRun !== true,
    modeDetails:
      options.showSecrets || !details
        ? details
        : redactNodeText(details, secretFragments(options.config, running)),
    warnings: msg?.warnings ?? [],
  };
}

/**
 * The Talos version a node runs: what the client knows of the node, or, when that
 * cannot read it, the Version call itself, so its error (unreachable, denied, ...) is thrown.
 */
async function readTalosVersion(
  client: TalosClient,
  call: ReturnType<typeof callOptions>,
): Promise<string> {
  const cached = await client.nodeState(call.node).talosVersion();
  if (cached) return cached;
  const reply = await client.services(call.node).machine.version({}, call);
  return reply.messages[0]?.version?.tag ?? "";
}

function nodeSays(node: string | undefined, what: string): string {
  return `${node ? `node ${node}` : "the node"} refused the config: ${what}`;
}

/** Turns the node's InvalidArgument into a ConfigApplyError; other errors pass through. */
function refusal(error: unknown, node: string | undefined, mode: ApplyMode): unknown {
  if (!(error instanceof RpcError) || error.code !== "INVALID_ARGUMENT") return error;
  const cause = error.cause as { rawMessage?: string } | undefined;
  const raw = cause?.rawMessage ?? error.message;
  if (raw.includes("can't be applied in immediate mode")) {
    return new ConfigApplyError(
      "CONFIG_NEEDS_REBOOT",
      `${node ? `node ${node}` : "the node"} cannot apply this change in mode "${mode}" without a reboot (use mode "auto" or "staged"): ${raw}`,
      { node, cause: error },
    );
  }
  return new ConfigApplyError("CONFIG_REJECTED", nodeSays(node, raw), { node, cause: error });
}

/**
 * Confirms a config applied in `try` mode so it is not rolled back: re-applies the
 * node's active config in `no-reboot` mode (any apply other than `try` confirms).
 */
export async function confirmTryConfig(
  client: TalosClient,
  options: { node?: string | undefined; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const call = {
    node: options.node,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  const current = await readMachineConfig(client, call);
  try {
    await client.services(options.node).machine.applyConfiguration(
      {
        data: new TextEncoder().encode(current.text),
        mode: ApplyConfigurationRequest_Mode.NO_REBOOT,
      },
      call,
    );
  } catch (error) {
    throw refusal(error, options.node, "no-reboot");
  }
}

/**
 * The outcome of {@link patchMachineConfigOnNodes} on one node: the client's
 * `NodeResult`, whose `error` is a TalosError (a ConfigApplyError or ConfigPatchError
 * when the config was refused or invalid there, the client's errors otherwise).
 */
export type NodePatchResult = NodeResult<PatchMachineConfigResult>;

/**
 * {@link patchMachineConfig} on several nodes through `client.onNodes`, at most
 * `concurrency` (default 4) at a time; one result per node in input order. Bad patches
 * or options throw before any node is contacted.
 */
export async function patchMachineConfigOnNodes(
  client: TalosClient,
  nodes: readonly string[],
  options: Omit<PatchMachineConfigOptions, "node"> & { concurrency?: number },
): Promise<NodePatchResult[]> {
  const requestedMode = checkOptions(options);
  const patches = loadAll(options.patches);
  return client.onNodes(
    nodes,
    (node, signal) => patchLoaded(client, { ...options, node, signal }, requestedMode, patches),
    { concurrency: options.concurrency ?? 4, signal: options.signal },
  );
}
