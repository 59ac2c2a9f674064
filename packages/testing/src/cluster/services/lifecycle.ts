// LifecycleService.Upgrade: installs an image already in containerd and
// stages it for the next reboot, reporting the installer's progress.
import * as grpc from "@grpc/grpc-js";
import type { NodeFaults } from "../faults.js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { stageUpgrade } from "./shared.js";

const { status: S } = grpc;

/** What LifecycleService uses of a node. */
export interface InstallHost {
  readonly state: SimNodeState;
  readonly faults: Pick<NodeFaults, "installerExitCode">;
  /** Whether an installation runs: one at a time. */
  upgrading: boolean;
}

/** Upgrade. */
export function installImpls(node: InstallHost): Impls {
  const st = node.state;
  return {
    "/machine.LifecycleService/Upgrade": (async (
      req: { source?: { imageName: string } },
      _ctx: CallContext,
      send: Send,
    ) => {
      const image = req.source?.imageName ?? "";
      if (!image) throw status(S.INVALID_ARGUMENT, "image name is required");
      if (st.maintenance) throw status(S.FAILED_PRECONDITION, "machine is not installed");
      if (node.upgrading)
        throw status(S.FAILED_PRECONDITION, "another installation/upgrade is already in progress");
      node.upgrading = true;
      try {
        const msg = (message: string) =>
          send({ progress: { response: { case: "message", value: message } } });
        await msg(`using image ${image}`);
        if (!st.images.has(image)) {
          await msg(`image ${image} not found in containerd`);
          await send({ progress: { response: { case: "exitCode", value: 5 } } });
          return;
        }
        await msg("validating installer");
        await msg("installing bootloader");
        await msg("writing image to disk");
        const code = node.faults.installerExitCode;
        if (code === 0) {
          stageUpgrade(st, image);
          await msg("upgrade staged, reboot to complete it");
        } else {
          await msg("installation failed");
        }
        await send({ progress: { response: { case: "exitCode", value: code } } });
      } finally {
        node.upgrading = false;
      }
    }) as ServerStreamImpl,
  };
}
