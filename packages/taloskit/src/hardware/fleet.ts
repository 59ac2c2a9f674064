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
