// Many machines at once: group them by the schematic they need, and compare a
// node's running schematic with the one it should run.
import type { HardwarePlan, ResolvedSchematic } from "./resolve.js";

export interface SchematicGroup {
  id: string;
  schematic: ResolvedSchematic;
  platform: string;
  arch: string;
  /** Machine names (or positions, for unnamed inventories) that need this schematic. */
  machines: string[];
}

/** Groups plans by schematic ID, platform and arch: each group needs one image. */
export function groupBySchematic(plans: HardwarePlan[]): SchematicGroup[] {
  const groups = new Map<string, SchematicGroup>();
  plans.forEach((plan, index) => {
    const key = `${plan.id} ${plan.platform} ${plan.arch}`;
    const group = groups.get(key) ?? {
      id: plan.id,
      schematic: plan.schematic,
      platform: plan.platform,
      arch: plan.arch,
      machines: [],
    };
    group.machines.push(plan.machine ?? `#${index}`);
    groups.set(key, group);
  });
  return [...groups.values()].sort(
    (a, b) => b.machines.length - a.machines.length || a.id.localeCompare(b.id),
  );
}

export interface SchematicDrift {
  inSync: boolean;
  runningId?: string;
  wantedId: string;
  /** Extensions the node lacks. */
  missing: string[];
  /** Extensions the node runs that the hardware does not call for. */
  extra: string[];
  kernelArgs: { missing: string[]; extra: string[] };
  overlay?: { running?: string; wanted?: string };
}

/**
 * Compares the schematic a node runs (from ExtensionStatus `schematic` or
 * ImageFactorySchematic) with the resolved one: the input to an upgrade that
 * changes the node's image. An unknown running schematic counts as empty.
 */
export function schematicDrift(
  running: { id?: string; schematic?: ResolvedSchematic },
  wanted: { id: string; schematic: ResolvedSchematic },
): SchematicDrift {
  const ext = (s?: ResolvedSchematic) =>
    new Set(s?.customization.systemExtensions?.officialExtensions ?? []);
  const args = (s?: ResolvedSchematic) => new Set(s?.customization.extraKernelArgs ?? []);
  const minus = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x)).sort();
  const [haveExt, wantExt] = [ext(running.schematic), ext(wanted.schematic)];
  const [haveArgs, wantArgs] = [args(running.schematic), args(wanted.schematic)];
  const runningOverlay = running.schematic?.overlay?.name;
  const wantedOverlay = wanted.schematic.overlay?.name;
  return {
    inSync: running.id === wanted.id,
    runningId: running.id,
    wantedId: wanted.id,
    missing: minus(wantExt, haveExt),
    extra: minus(haveExt, wantExt),
    kernelArgs: { missing: minus(wantArgs, haveArgs), extra: minus(haveArgs, wantArgs) },
    overlay:
      runningOverlay !== wantedOverlay
        ? { running: runningOverlay, wanted: wantedOverlay }
        : undefined,
  };
}

/** Machines that share one schematic ID, whatever their arch and platform. */
export interface SchematicIdGroup {
  id: string;
  /** The arches among them: an ID names the same schematic on amd64 and arm64. */
  arches: string[];
  platforms: string[];
  machines: string[];
}

/**
 * Groups plans by schematic ID alone: the same extensions, kernel arguments and
 * overlay give one ID on every arch (the factory builds it per arch), so one ID
 * can serve an amd64 node and an arm64 node alike.
 */
export function groupBySchematicId(plans: HardwarePlan[]): SchematicIdGroup[] {
  const groups = new Map<string, SchematicIdGroup>();
  plans.forEach((plan, index) => {
    const group = groups.get(plan.id) ?? { id: plan.id, arches: [], platforms: [], machines: [] };
    if (!group.arches.includes(plan.arch)) group.arches.push(plan.arch);
    if (!group.platforms.includes(plan.platform)) group.platforms.push(plan.platform);
    group.machines.push(plan.machine ?? `#${index}`);
    groups.set(plan.id, group);
  });
  return [...groups.values()]
    .map((g) => ({ ...g, arches: g.arches.sort(), platforms: g.platforms.sort() }))
    .sort((a, b) => b.machines.length - a.machines.length || a.id.localeCompare(b.id));
}

/** How a live node differs from what its hardware needs: the input to an upgrade. */
export interface NodeDrift extends SchematicDrift {
  machine?: string;
  talosVersion: string;
  /** Anything differs: the schematic, the platform or the SecureBoot state. */
  drift: boolean;
  platform: { running?: string; wanted: string };
  secureBoot: { running?: boolean; wanted: boolean };
  /**
   * False when the running schematic's content could not be read (the factory
   * does not know its ID): the extension and argument lists then compare with
   * nothing, and only the IDs are certain.
   */
  runningSchematicKnown: boolean;
  /** The installer an upgrade to the wanted schematic would use. */
  installer?: string;
}

/**
 * Compares what a live node runs (its inventory's `running` facts, and the
 * content of its schematic when known) with the plan for its hardware.
 */
export function nodeDrift(
  machine: {
    name?: string;
    running?: { schematicId?: string; platform?: string; secureBoot?: boolean };
  },
  plan: HardwarePlan,
  runningSchematic: ResolvedSchematic | undefined,
): NodeDrift {
  const running = machine.running ?? {};
  const schematic = schematicDrift(
    { id: running.schematicId, schematic: runningSchematic },
    { id: plan.id, schematic: plan.schematic },
  );
  const platformDiffers = running.platform !== undefined && running.platform !== plan.platform;
  const secureBootDiffers =
    running.secureBoot !== undefined && running.secureBoot !== plan.secureBoot;
  return {
    machine: machine.name ?? plan.machine,
    talosVersion: plan.talosVersion,
    ...schematic,
    drift: !schematic.inSync || platformDiffers || secureBootDiffers,
    platform: { running: running.platform, wanted: plan.platform },
    secureBoot: { running: running.secureBoot, wanted: plan.secureBoot },
    runningSchematicKnown: runningSchematic !== undefined,
    installer: plan.installer,
  };
}
