// What the Talos API says about its own RPCs: which version serves each one
// (from rpc-availability.tsv, committed as data) and which roles may call it.
import { compareMinors, minorLine } from "@taloskit/core";
import { RPC_AVAILABILITY, RPC_VERSIONS } from "./rpc-availability.data.js";

/** The availability column for a Talos version: "v1.12".."v1.14", "main" for newer, undefined for older. */
export function versionColumn(version: string): (typeof RPC_VERSIONS)[number] | undefined {
  const minor = minorLine(version);
  if (!minor) return undefined;
  const key = `v${minor.major}.${minor.minor}`;
  if ((RPC_VERSIONS as readonly string[]).includes(key))
    return key as (typeof RPC_VERSIONS)[number];
  // Newer than the last released column: "main".
  const last = RPC_VERSIONS[RPC_VERSIONS.length - 2] ?? "v0.0";
  return compareMinors(key, last) > 0 ? "main" : undefined;
}

/** Availability of an RPC ("package.Service/Method"), or undefined when it is not in the table. */
export function rpcAvailability(
  procedure: string,
): { kind: string; versions: Record<string, boolean> } | undefined {
  const row = RPC_AVAILABILITY[procedure];
  if (!row) return undefined;
  const versions: Record<string, boolean> = {};
  RPC_VERSIONS.forEach((v, i) => {
    versions[v] = row[1][i] === "y";
  });
  return { kind: row[0], versions };
}

/** Whether a Talos version serves an RPC; undefined when unknown (RPC or version not in the table). */
export function isRpcAvailable(procedure: string, version: string): boolean | undefined {
  const col = versionColumn(version);
  const row = rpcAvailability(procedure);
  if (!col || !row) return undefined;
  return row.versions[col];
}

/** The first version column that serves an RPC ("v1.13", or "main" for unreleased). */
export function rpcAddedIn(procedure: string): string | undefined {
  const row = rpcAvailability(procedure);
  if (!row) return undefined;
  return RPC_VERSIONS.find((v) => row.versions[v]);
}

/** The first version column that no longer serves an RPC it served before. */
export function rpcRemovedIn(procedure: string): string | undefined {
  const row = rpcAvailability(procedure);
  if (!row) return undefined;
  let seen = false;
  for (const v of RPC_VERSIONS) {
    if (row.versions[v]) seen = true;
    else if (seen) return v;
  }
  return undefined;
}

const ADMIN = ["os:admin"];
const OPERATOR = ["os:admin", "os:operator"];

/** Roles that may call an RPC, for the calls that need more than os:reader. */
const ROLE_RULES: Record<string, readonly string[]> = {
  // A maintenance-mode node takes its first config from anyone; a configured one wants os:admin.
  "machine.MachineService/ApplyConfiguration": ADMIN,
  "machine.MachineService/Rollback": ADMIN,
  "machine.MachineService/Bootstrap": ADMIN,
  "machine.MachineService/EtcdRemoveMemberByID": ADMIN,
  "machine.MachineService/EtcdLeaveCluster": ADMIN,
  "machine.MachineService/EtcdDowngradeEnable": ADMIN,
  "machine.MachineService/EtcdDowngradeCancel": ADMIN,
  "machine.MachineService/MetaDelete": ADMIN,
  "machine.MachineService/MetaWrite": ["os:admin", "os:meta:writer"],
  "machine.MachineService/Read": ADMIN,
  "machine.MachineService/Copy": ADMIN,
  "machine.MachineService/Kubeconfig": ADMIN,
  "machine.MachineService/Reset": ADMIN,
  "machine.MachineService/Upgrade": ADMIN,
  "machine.MachineService/GenerateClientConfiguration": ADMIN,
  "machine.MachineService/EtcdSnapshot": ["os:admin", "os:etcd:backup"],
  "machine.LifecycleService/Install": ADMIN,
  "machine.LifecycleService/Upgrade": ADMIN,
  "machine.DebugService/ContainerRun": ADMIN,
  "machine.MachineService/EtcdRecover": ADMIN,
  "machine.ImageService/Import": ADMIN,
  "machine.ImageService/Remove": ADMIN,
  // Open to os:reader in maintenance mode only; a configured node wants os:admin.
  "storage.StorageService/BlockDeviceWipe": ADMIN,
  "machine.LVMService/LogicalVolumeRemove": ADMIN,
  "machine.LVMService/VolumeGroupRemove": ADMIN,
  "machine.LVMService/PhysicalVolumeRemove": ADMIN,
  "machine.MDService/Destroy": ADMIN,
  "cosi.resource.State/Create": ADMIN,
  "cosi.resource.State/Update": ADMIN,
  "cosi.resource.State/Destroy": ADMIN,
  "cosi.resource.State/Teardown": ADMIN,
  "cosi.resource.State/TeardownAndDestroy": ADMIN,
  "machine.MachineService/Reboot": OPERATOR,
  "machine.MachineService/Shutdown": OPERATOR,
  "machine.MachineService/ServiceStart": OPERATOR,
  "machine.MachineService/ServiceStop": OPERATOR,
  "machine.MachineService/ServiceRestart": OPERATOR,
  "machine.MachineService/PacketCapture": OPERATOR,
  "machine.ImageService/Pull": OPERATOR,
  "machine.MachineService/ImagePull": OPERATOR,
  "machine.MachineService/EtcdForfeitLeadership": OPERATOR,
  "machine.MachineService/EtcdDefragment": OPERATOR,
  "machine.MachineService/EtcdAlarmDisarm": OPERATOR,
};

/** Roles known to be needed for an RPC, or undefined when os:reader suffices or it is unknown. */
export function requiredRoles(procedure: string): readonly string[] | undefined {
  return ROLE_RULES[procedure];
}

/**
 * Why a Talos version lacks an RPC, e.g. "the call was added in Talos v1.14";
 * undefined when the version serves it or the table does not know.
 */
export function explainUnavailable(procedure: string, version: string): string | undefined {
  const col = versionColumn(version);
  const row = rpcAvailability(procedure);
  if (!col || !row || row.versions[col]) return undefined;
  const idx = RPC_VERSIONS.indexOf(col);
  const later = RPC_VERSIONS.slice(idx + 1).find((v) => row.versions[v]);
  if (later) return `the call was added in Talos ${later === "main" ? "after v1.14" : later}`;
  const earlier = RPC_VERSIONS.slice(0, idx).some((v) => row.versions[v]);
  const removed = rpcRemovedIn(procedure);
  if (earlier && removed) return `the call was removed in Talos ${removed}`;
  return "no known Talos version serves the call";
}
