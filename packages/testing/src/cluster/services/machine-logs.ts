// MachineService's log streams: service and container logs (Logs) and the
// kernel ring buffer (Dmesg).
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { untilAborted } from "./shared.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";

/** What the log calls read of a node. */
export interface LogsHost {
  readonly state: SimNodeState;
  /** Wall-clock time (ms) of the current boot. */
  readonly bootedAt: number;
}

const KMSG_PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/**
 * One kernel record as Talos's Dmesg sends it: `facility: priority: [time]: message`,
 * the priority right-aligned in 7 columns, the time in RFC 3339 with nanoseconds
 * (trailing zeros dropped), and the message ending in the newline that each
 * /dev/kmsg record carries. A message may start with a printk level `<N>`
 * (default 6, info); every simulated record comes from the kernel facility.
 */
export function kmsgRecord(message: string, timeMs: number): string {
  const m = /^<([0-7])>/.exec(message);
  const priority = KMSG_PRIORITIES[m ? Number(m[1]) : 6] ?? "info";
  const text = m ? message.slice(m[0].length) : message;
  const time = new Date(timeMs)
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_all, digits: string) => (digits ? `.${digits}Z` : "Z"));
  return `kern: ${priority.padStart(7)}: [${time}]: ${text}${text.endsWith("\n") ? "" : "\n"}`;
}

const SYSTEM_NS = "system";
const CRI_NS = "k8s.io";
const TALOS_CONTAINERS_NS = "taloscontainers";
const DRIVER_CRI = 1;

/**
 * The lines a Logs request reads, chosen the way machined chooses: the service
 * log buffers for the system namespace (and for `kubelet` in any namespace),
 * `taloscontainers-<id>` buffers for that namespace, otherwise the CRI
 * containers; failures carry machined's messages (plain errors, so Unknown).
 */
function logSource(
  st: SimNodeState,
  req: { namespace: string; id: string; driver: number },
): string[] {
  if (req.namespace === SYSTEM_NS || req.id === "kubelet") {
    const l = st.logs.get(req.id);
    if (!l) throw status(S.UNKNOWN, `log ${JSON.stringify(req.id)} was not registered`);
    return l;
  }
  if (req.namespace === TALOS_CONTAINERS_NS) {
    const key = `${TALOS_CONTAINERS_NS}-${req.id}`;
    const l = st.logs.get(key);
    if (!l) throw status(S.UNKNOWN, `log ${JSON.stringify(key)} was not registered`);
    return l;
  }
  if (req.namespace === "") throw status(S.INVALID_ARGUMENT, "namespace can't be empty");
  if (req.driver === DRIVER_CRI && req.namespace !== CRI_NS)
    throw status(S.UNKNOWN, "CRI inspector is supported only for K8s namespace");
  // The CRI inspector takes `<namespace>/<pod>:<container>`, with or without the
  // `:<container id>` that `containers -k` shows after it.
  const key = req.id.split(":").slice(0, 2).join(":");
  const l = req.namespace === CRI_NS ? st.containerLogs?.get(key) : undefined;
  if (!l) throw status(S.UNKNOWN, `container ${JSON.stringify(req.id)} not found`);
  return l;
}

/** Logs and Dmesg. */
export function logsImpls(node: LogsHost): Impls {
  const st = node.state;
  return {
    [`${M}Logs`]: (async (
      req: { namespace: string; id: string; driver: number; follow: boolean; tailLines: number },
      ctx: CallContext,
      send: Send,
    ) => {
      const all = logSource(st, req);
      // A negative tail means every line; 0 means none (talosctl sends -1 for "all").
      const ls =
        req.tailLines >= 0 ? all.slice(all.length - Math.min(req.tailLines, all.length)) : all;
      for (const l of ls) await send({ bytes: Buffer.from(`${l}\n`) });
      if (req.follow) await untilAborted(ctx.signal);
    }) as ServerStreamImpl,
    [`${M}Dmesg`]: (async (
      req: { follow: boolean; tail: boolean },
      ctx: CallContext,
      send: Send,
    ) => {
      // `tail` starts after the last record: only new records (when following) are sent.
      if (!req.tail)
        for (const [i, m] of st.dmesg.entries())
          await send({ bytes: Buffer.from(kmsgRecord(m, node.bootedAt + i)) });
      if (req.follow) await untilAborted(ctx.signal);
    }) as ServerStreamImpl,
  };
}
