// MachineService.ApplyConfiguration: the apply modes as each release handles
// them, dry runs with a diff, staged configs and TRY with its roll-back.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { ApplyConfigurationRequest_Mode } from "@taloskit/api/machine";
import { atLeastMinor } from "@taloskit/core";
import {
  ConfigRefused,
  checkSimConfig,
  goDuration,
  lineDiff,
  rebootPaths,
} from "../config-apply.js";
import { status } from "../grpc.js";
import type { CallContext, Impls, UnaryImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { durationMs } from "../util.js";

const { status: S } = grpc;

/** What ApplyConfiguration reads and changes of a node. */
export interface ConfigHost {
  readonly state: SimNodeState;
  /** Pending roll-back of an apply in TRY mode. */
  tryRollback: NodeJS.Timeout | undefined;
  touch(): void;
  reboot(actorId: string): void;
}

interface ApplyRequest {
  data: Uint8Array;
  mode: ApplyConfigurationRequest_Mode;
  dryRun: boolean;
  tryModeTimeout?: { seconds: bigint; nanos: number };
}

function applyConfiguration(node: ConfigHost, req: ApplyRequest, ctx: CallContext) {
  // Everything that can refuse the request runs before any state changes, so a
  // refused config leaves the node exactly as it was.
  const st = node.state;
  const M = ApplyConfigurationRequest_Mode;
  if (!ctx.roles.has("os:admin") && !st.maintenance)
    throw status(S.PERMISSION_DENIED, "not authorized");
  const text = Buffer.from(req.data).toString("utf8");
  try {
    checkSimConfig(text, { maintenance: st.maintenance });
  } catch (e) {
    if (e instanceof ConfigRefused) throw status(S.INVALID_ARGUMENT, e.message);
    throw e;
  }
  const live = atLeastMinor(st.version, "1.14");
  let mode = req.mode;
  if (mode === M.REBOOT) {
    if (st.maintenance) mode = M.NO_REBOOT;
    else if (live) throw status(S.UNIMPLEMENTED, "apply mode REBOOT is not supported anymore");
  }
  let details = "Applied configuration without a reboot";
  let why = "";
  // Talos 1.14 applies every change live; older nodes reboot for some v1alpha1 fields.
  const needReboot = !live && !st.maintenance && st.config ? rebootPaths(st.config, text) : [];
  const immediateError = `this config change can't be applied in immediate mode\ndiff:\n${needReboot.map((p) => `  ${p}`).join("\n")}`;
  switch (mode) {
    case M.AUTO:
      if (needReboot.length) {
        mode = M.REBOOT;
        details = "Applied configuration with a reboot";
        why = `: ${immediateError}`;
      } else mode = M.NO_REBOOT;
      break;
    case M.NO_REBOOT:
    case M.TRY:
      if (needReboot.length) throw status(S.INVALID_ARGUMENT, immediateError);
      break;
    case M.STAGED:
      details = "Staged configuration to be applied after the next reboot";
      break;
    case M.REBOOT:
      details = "Applied configuration with a reboot";
      break;
    default:
      throw status(S.INVALID_ARGUMENT, `unknown apply mode ${String(mode)}`);
  }
  if (req.dryRun) {
    const diff = lineDiff(st.config, text);
    return {
      messages: [
        {
          mode,
          modeDetails: `Dry run summary:\n${details} (skipped in dry-run).\nConfig diff:\n\n${diff || "No changes."}`,
          warnings: [],
        },
      ],
    };
  }
  // Any apply other than TRY confirms (cancels) a pending TRY roll-back.
  const pending = node.tryRollback;
  if (pending) clearTimeout(pending);
  node.tryRollback = undefined;
  switch (mode) {
    case M.TRY: {
      const t = req.tryModeTimeout;
      const ms = t ? durationMs(t) : 60_000;
      details += `\nThe config is applied in 'try' mode and will be automatically reverted back in ${goDuration(ms)}`;
      const previous = st.config;
      st.config = text;
      const rollback = setTimeout(() => {
        node.tryRollback = undefined;
        st.config = previous;
        node.touch();
      }, ms);
      rollback.unref();
      node.tryRollback = rollback;
      break;
    }
    case M.STAGED:
      st.stagedConfig = text;
      break;
    case M.REBOOT:
      st.stagedConfig = text;
      node.reboot(randomUUID());
      break;
    default:
      st.config = text;
      st.stagedConfig = undefined;
  }
  node.touch();
  return { messages: [{ mode, modeDetails: details + why, warnings: [] }] };
}

/** ApplyConfiguration. */
export function configImpls(node: ConfigHost): Impls {
  return {
    "/machine.MachineService/ApplyConfiguration": ((req: ApplyRequest, ctx: CallContext) =>
      applyConfiguration(node, req, ctx)) as UnaryImpl,
  };
}
