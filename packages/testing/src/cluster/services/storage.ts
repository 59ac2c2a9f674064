// StorageService: the disks of the node's hardware profile, and wipes that
// refuse unknown devices and the system disk's volumes.
import * as grpc from "@grpc/grpc-js";
import { Disk_DiskType } from "@taloskit/api/storage";
import { status } from "../grpc.js";
import type { CallContext, Impls, UnaryImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { requireAdminUnlessMaintenance } from "./shared.js";

const { status: S } = grpc;

/** What StorageService reads of a node. */
export interface StorageHost {
  readonly state: Pick<SimNodeState, "profile" | "maintenance">;
}

/** Disks and BlockDeviceWipe. */
export function storageImpls({ state: st }: StorageHost): Impls {
  return {
    "/storage.StorageService/Disks": (() => ({
      messages: [
        {
          disks: st.profile.disks.map((d, i) => ({
            size: BigInt(d.sizeBytes),
            model: d.model,
            deviceName: `/dev/${d.id}`,
            name: d.id,
            serial: d.serial,
            type:
              d.transport === "nvme"
                ? Disk_DiskType.NVME
                : d.rotational
                  ? Disk_DiskType.HDD
                  : Disk_DiskType.SSD,
            subsystem: d.transport === "nvme" ? "/sys/class/nvme" : "/sys/class/block",
            systemDisk: !st.maintenance && i === 0,
            readonly: false,
          })),
        },
      ],
    })) as UnaryImpl,
    "/storage.StorageService/BlockDeviceWipe": ((
      req: { devices: { device: string; skipVolumeCheck: boolean }[] },
      ctx: CallContext,
    ) => {
      requireAdminUnlessMaintenance(st, ctx);
      if (req.devices.length === 0)
        throw status(S.INVALID_ARGUMENT, "at least one device must be given");
      for (const d of req.devices) {
        const name = d.device.replace(/^\/dev\//, "");
        const i = st.profile.disks.findIndex((x) => x.id === name);
        if (i < 0) throw status(S.NOT_FOUND, `blockdevice ${JSON.stringify(d.device)} not found`);
        if (!st.maintenance && i === 0 && !d.skipVolumeCheck)
          throw status(
            S.FAILED_PRECONDITION,
            `blockdevice ${JSON.stringify(d.device)} is in use by volume "EPHEMERAL"`,
          );
      }
      return { messages: [{}] };
    }) as UnaryImpl,
  };
}
