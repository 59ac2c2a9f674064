/** Parse "v1.14.0" / "1.13.9-beta.1" into [major, minor, patch]. */
export function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  if (!m) throw new Error(`invalid Talos version ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** The minor line of a version as a number, e.g. 14 for v1.14.2. */
export function minorOf(v: string): number {
  const [maj, min] = parseVersion(v);
  return maj === 1 ? min : 100;
}

// RPCs that exist only from a given minor (of Talos 1.x); absent otherwise.
const since: Record<string, number> = {
  "machine.DebugService": 13,
  "machine.ImageService": 13,
  "machine.LifecycleService": 13,
  "machine.LVMService": 14,
  "machine.MDService": 14,
};

/** Whether a service/method exists in the given Talos version (per rpc-availability facts). */
export function rpcAvailable(service: string, method: string, version: string): boolean {
  const minor = minorOf(version);
  const s = since[service];
  if (s !== undefined && minor < s) return false;
  if (service === "machine.MachineService" && method === "GenerateConfiguration" && minor >= 13)
    return false;
  return true;
}
