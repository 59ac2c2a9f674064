// ClusterService.HealthCheck: talosctl's cluster checks run in order over the
// cluster's nodes (the ones named, or all that are configured), each retried
// until it passes or the wait runs out.
import * as grpc from "@grpc/grpc-js";
import type { NodeFaults } from "../faults.js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { durationMs, sleep } from "../util.js";

const { status: S } = grpc;

/** How often HealthCheck re-runs a failing check. */
const HEALTH_POLL_MS = 20;

/** What a health check reads of each node of the cluster. */
export interface HealthPeer {
  readonly address: string;
  readonly state: SimNodeState;
  readonly isDown: boolean;
  readonly faults: Pick<NodeFaults, "unreachable" | "etcdUnhealthy">;
  /** The nodes of its cluster, itself included. */
  peers(): HealthPeer[];
}

interface HealthTarget {
  address: string;
  node: HealthPeer | undefined;
}

type Check = { name: string; run: () => string | undefined };

function healthChecks(controlPlanes: HealthTarget[], all: HealthTarget[]): Check[] {
  const up = (t: HealthTarget) => {
    if (!t.node) return `${t.address}: no such node`;
    if (t.node.isDown || t.node.faults.unreachable)
      return `${t.address}: rpc error: code = Unavailable desc = connection refused`;
    return undefined;
  };
  const first = (
    ts: HealthTarget[],
    f: (t: HealthTarget & { node: HealthPeer }) => string | undefined,
  ) => {
    for (const t of ts) {
      const down = up(t);
      if (down) return down;
      const why = f(t as HealthTarget & { node: HealthPeer });
      if (why) return why;
    }
    return undefined;
  };
  return [
    {
      name: "etcd to be healthy",
      run: () =>
        first(controlPlanes, ({ address, node }) => {
          const svc = node.state.services.find((s) => s.id === "etcd");
          if (!node.state.etcd || !svc) return `${address}: service "etcd" not registered`;
          if (node.faults.etcdUnhealthy || !node.state.etcd.healthy || !svc.healthy)
            return `${address}: service "etcd" not healthy`;
          return undefined;
        }),
    },
    {
      name: "etcd members to be consistent across nodes",
      run: () => {
        const lists = new Map<string, string>();
        const why = first(controlPlanes, ({ address, node }) => {
          const ids = node
            .peers()
            .filter((p) => p.state.etcd)
            .map((p) => p.state.etcd?.id.toString(16))
            .sort()
            .join(",");
          lists.set(address, ids);
          return undefined;
        });
        if (why) return why;
        return new Set(lists.values()).size > 1 ? "etcd members differ between nodes" : undefined;
      },
    },
    {
      name: "etcd members to be control plane nodes",
      run: () => {
        const cps = new Set(controlPlanes.map((t) => t.node?.state.hostname));
        for (const t of controlPlanes)
          for (const p of t.node?.peers() ?? [])
            if (p.state.etcd && !cps.has(p.state.etcd.hostname))
              return `etcd member ${p.state.etcd.hostname} is not a control plane node`;
        return undefined;
      },
    },
    { name: "apid to be ready", run: () => first(all, () => undefined) },
    {
      name: "all nodes memory sizes",
      run: () =>
        first(all, ({ address, node }) => {
          const mib = node.state.profile.memoryModules.reduce((a, m) => a + m.sizeMiB, 0);
          const min = node.state.role === "controlplane" ? 1792 : 922;
          return mib < min
            ? `${address}: memory size is ${mib} MiB, less than ${min} MiB`
            : undefined;
        }),
    },
    {
      name: "kubelet to be healthy",
      run: () =>
        first(controlPlanes, ({ address, node }) => {
          const svc = node.state.services.find((s) => s.id === "kubelet");
          return svc && !svc.healthy ? `${address}: service "kubelet" not healthy` : undefined;
        }),
    },
    {
      name: "all nodes to finish boot sequence",
      run: () =>
        first(all, ({ address, node }) =>
          node.state.stage !== "running" || !node.state.ready
            ? `${address}: stage is ${node.state.stage}, ready ${node.state.ready}`
            : undefined,
        ),
    },
  ];
}

/** HealthCheck. */
export function clusterImpls(node: HealthPeer): Impls {
  const st = node.state;
  return {
    "/cluster.ClusterService/HealthCheck": (async (
      req: {
        waitTimeout?: { seconds: bigint; nanos: number };
        clusterInfo?: { controlPlaneNodes: string[]; workerNodes: string[] };
      },
      ctx: CallContext,
      send: Send,
    ) => {
      if (st.role !== "controlplane")
        throw status(S.FAILED_PRECONDITION, "health check must be run on a control plane node");
      const peers = node.peers().filter((p) => !p.state.maintenance);
      const find = (address: string): HealthTarget => ({
        address,
        node: peers.find((p) => p.address === address),
      });
      const info = req.clusterInfo;
      const given = (info?.controlPlaneNodes.length ?? 0) + (info?.workerNodes.length ?? 0) > 0;
      const cps = given
        ? (info?.controlPlaneNodes ?? []).map(find)
        : peers.filter((p) => p.state.role === "controlplane").map((p) => find(p.address));
      const workers = given
        ? (info?.workerNodes ?? []).map(find)
        : peers.filter((p) => p.state.role === "worker").map((p) => find(p.address));
      const all = [...cps, ...workers];
      const wt = req.waitTimeout;
      const waitMs = wt ? durationMs(wt) : 20 * 60_000;
      const deadline = Date.now() + waitMs;
      const msg = (message: string) => send({ message });
      await msg(`discovered nodes: ${JSON.stringify(all.map((t) => t.address))}`);
      for (const check of healthChecks(cps, all)) {
        await msg(`waiting for ${check.name}`);
        let last: string | undefined;
        for (;;) {
          const why = check.run();
          if (!why) break;
          if (why !== last) await msg(`waiting for ${check.name}: ${why}`);
          last = why;
          if (Date.now() >= deadline || ctx.signal.aborted)
            throw status(S.DEADLINE_EXCEEDED, `${check.name}: ${why}`);
          await sleep(Math.min(HEALTH_POLL_MS, Math.max(1, deadline - Date.now())), ctx.signal);
        }
        await msg(`waiting for ${check.name}: OK`);
      }
    }) as ServerStreamImpl,
  };
}
