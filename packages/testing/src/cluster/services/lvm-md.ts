// LVMService and MDService: the node has no volume groups or md arrays, so
// removals of valid names answer NotFound.
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Impls, UnaryImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { requireAdminUnlessMaintenance } from "./shared.js";

const { status: S } = grpc;

/** What these services read of a node. */
export interface VolumesHost {
  readonly state: Pick<SimNodeState, "maintenance">;
}

/** The removal of something the node lacks: the caller is checked, then the request, then NotFound. */
function removal<R>(
  st: VolumesHost["state"],
  missing: (req: R) => string | undefined,
  notFound: (req: R) => string,
): UnaryImpl {
  return ((req: R, ctx: CallContext) => {
    requireAdminUnlessMaintenance(st, ctx);
    const why = missing(req);
    if (why) throw status(S.INVALID_ARGUMENT, why);
    throw status(S.NOT_FOUND, notFound(req));
  }) as UnaryImpl;
}

const q = JSON.stringify;

/** The LVM removals and MD's Destroy. */
export function volumeImpls({ state: st }: VolumesHost): Impls {
  return {
    "/machine.LVMService/LogicalVolumeRemove": removal<{
      volumeGroup: string;
      logicalVolume: string;
    }>(
      st,
      (r) =>
        !r.volumeGroup || !r.logicalVolume
          ? "volume group and logical volume are required"
          : undefined,
      (r) => `volume group ${q(r.volumeGroup)} not found`,
    ),
    "/machine.LVMService/VolumeGroupRemove": removal<{ volumeGroup: string }>(
      st,
      (r) => (r.volumeGroup ? undefined : "volume group is required"),
      (r) => `volume group ${q(r.volumeGroup)} not found`,
    ),
    "/machine.LVMService/PhysicalVolumeRemove": removal<{ device: string }>(
      st,
      (r) => (r.device ? undefined : "device is required"),
      (r) => `physical volume ${q(r.device)} not found`,
    ),
    "/machine.MDService/Destroy": removal<{ device: string }>(
      st,
      (r) => (r.device ? undefined : "device is required"),
      (r) => `md array ${q(r.device)} not found`,
    ),
  };
}
