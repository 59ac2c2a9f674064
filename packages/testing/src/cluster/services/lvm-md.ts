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

/** The LVM removals and MD's Destroy. */
export function volumeImpls({ state: st }: VolumesHost): Impls {
  return {
    "/machine.LVMService/LogicalVolumeRemove": ((
      req: { volumeGroup: string; logicalVolume: string },
      ctx: CallContext,
    ) => {
      requireAdminUnlessMaintenance(st, ctx);
      if (!req.volumeGroup || !req.logicalVolume)
        throw status(S.INVALID_ARGUMENT, "volume group and logical volume are required");
      throw status(S.NOT_FOUND, `volume group ${JSON.stringify(req.volumeGroup)} not found`);
    }) as UnaryImpl,
    "/machine.LVMService/VolumeGroupRemove": ((req: { volumeGroup: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(st, ctx);
      if (!req.volumeGroup) throw status(S.INVALID_ARGUMENT, "volume group is required");
      throw status(S.NOT_FOUND, `volume group ${JSON.stringify(req.volumeGroup)} not found`);
    }) as UnaryImpl,
    "/machine.LVMService/PhysicalVolumeRemove": ((req: { device: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(st, ctx);
      if (!req.device) throw status(S.INVALID_ARGUMENT, "device is required");
      throw status(S.NOT_FOUND, `physical volume ${JSON.stringify(req.device)} not found`);
    }) as UnaryImpl,
    "/machine.MDService/Destroy": ((req: { device: string }, ctx: CallContext) => {
      requireAdminUnlessMaintenance(st, ctx);
      if (!req.device) throw status(S.INVALID_ARGUMENT, "device is required");
      throw status(S.NOT_FOUND, `md array ${JSON.stringify(req.device)} not found`);
    }) as UnaryImpl,
  };
}
