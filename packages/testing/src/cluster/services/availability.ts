// The services a node serves, and which of their RPCs a node of a given Talos
// version has: services added in later minors are unknown to older nodes, and
// up to 1.12 a node in maintenance runs a separate server with only a small
// part of the API.
import type { DescService } from "@bufbuild/protobuf";
import { ClusterService } from "@taloskit/api/cluster";
import { State } from "@taloskit/api/cosi";
import { InspectService } from "@taloskit/api/inspect";
import {
  DebugService,
  ImageService,
  LifecycleService,
  LVMService,
  MachineService,
  MDService,
} from "@taloskit/api/machine";
import { StorageService } from "@taloskit/api/storage";
import { TimeService } from "@taloskit/api/time";
import { atLeastMinor } from "@taloskit/core";

/** The services of a node (the router serves the same ones). */
export const SERVED_SERVICES: DescService[] = [
  MachineService,
  ImageService,
  LifecycleService,
  State,
  TimeService,
  StorageService,
  InspectService,
  ClusterService,
  DebugService,
  LVMService,
  MDService,
];

/** Services that exist only from a given minor line on. */
const SINCE: Record<string, string> = {
  "machine.DebugService": "1.13",
  "machine.ImageService": "1.13",
  "machine.LifecycleService": "1.13",
  "machine.LVMService": "1.14",
  "machine.MDService": "1.14",
};

/** Whether a service/method exists in the given Talos version. */
export function rpcAvailable(service: string, method: string, version: string): boolean {
  const since = SINCE[service];
  if (since !== undefined && !atLeastMinor(version, since)) return false;
  if (
    service === "machine.MachineService" &&
    method === "GenerateConfiguration" &&
    atLeastMinor(version, "1.13")
  )
    return false;
  return true;
}

/** Whether the maintenance server of this version serves the method (1.13 on serve the whole API). */
export function servedInMaintenance(service: string, method: string, version: string): boolean {
  if (atLeastMinor(version, "1.13")) return true;
  return (
    service === "cosi.resource.State" ||
    (service === "machine.MachineService" && method === "ApplyConfiguration")
  );
}
