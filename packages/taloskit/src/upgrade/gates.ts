// Health gates of a rolling upgrade. The etcd gate: every control plane's etcd
// healthy, and the member about to reboot leaves a quorum. The Kubernetes
// gate: every Kubernetes node of the plan Ready before a control plane goes
// down. A gate that does not pass emits a failed gate event and throws.
import { messageOf, pollUntil } from "@taloskit/core";
import { UpgradeError, type UpgradeErrorCode } from "./errors.js";
import { type EtcdMember, type EtcdMemberState, etcdMembers, etcdStatuses } from "./node-api.js";
import type { RunContext } from "./run-context.js";

/** What the etcd check found: healthy, or the first problem. */
interface EtcdCheck {
  healthy: boolean;
  /** The failure behind an unhealthy answer, when there is one. */
  cause?: unknown;
  node?: string | undefined;
  detail: string;
}

/** A refused gate: the event, then the error (UPGRADE_ABORTED when the caller aborted). */
function refused(
  ctx: RunContext,
  gate: "etcd" | "kubernetes",
  code: UpgradeErrorCode,
  node: string | undefined,
  detail: string,
  cause: unknown,
): UpgradeError {
  ctx.emit({ type: "gate", gate, node, ok: false, detail });
  return new UpgradeError(ctx.signal?.aborted ? "UPGRADE_ABORTED" : code, detail, {
    node,
    step: "gate",
    cause,
  });
}

/** The node a member runs on: the host of its first client URL (undefined when it has none). */
function memberNode(m: EtcdMember): string | undefined {
  const url = m.clientUrls[0];
  if (!url) return undefined;
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The etcd gate before `about` goes down (`wait` false: one check, which must
 * pass) or after it came back (`wait` true: until etcd is healthy, at most the
 * gate timeout). Off with `gates.etcd: false` and for plans without control planes.
 */
export async function etcdGate(ctx: RunContext, about: string, wait: boolean): Promise<void> {
  if (ctx.options.gates?.etcd === false || ctx.controlPlanes.length === 0) return;
  let last: EtcdCheck = {
    healthy: false,
    node: about,
    detail: `etcd was not checked before taking ${about} down`,
  };
  const refuse = () =>
    refused(ctx, "etcd", "UPGRADE_ETCD_UNHEALTHY", last.node, last.detail, last.cause);
  const result = await pollUntil(
    async (signal) => {
      last = await checkEtcd(ctx, about, signal);
      return last.healthy || !wait ? last : undefined;
    },
    {
      intervalMs: ctx.gateIntervalMs,
      timeoutMs: wait ? ctx.gateMs : ctx.callMs * 2,
      signal: ctx.signal,
      timedOut: refuse,
    },
  ).catch((error: unknown) => {
    throw error instanceof UpgradeError ? error : refuse();
  });
  if (!result.healthy) throw refuse();
  ctx.emit({ type: "gate", gate: "etcd", node: about, ok: true, detail: result.detail });
}

/**
 * Checks etcd on every control-plane node; the node about to go down must
 * leave a quorum. Quorum is counted over the voting members of
 * EtcdMemberList (learners do not vote). A voter counts as healthy only when
 * a node said so: its own EtcdStatus answered without errors (the plan's
 * control planes, and a member outside the plan asked at the address of its
 * client URL, which Talos advertises as the node's), or a healthy member
 * names it as leader. A member that no node vouches for counts as down.
 */
async function checkEtcd(ctx: RunContext, about: string, signal: AbortSignal): Promise<EtcdCheck> {
  const call = { signal, timeoutMs: ctx.callMs };
  const statuses = await etcdStatuses(ctx.client, ctx.controlPlanes, call);
  const byNode = new Map<string, EtcdMemberState>();
  for (const r of statuses) {
    if ("error" in r)
      return {
        healthy: false,
        cause: r.error,
        node: r.node,
        detail: `etcd on ${r.node} is not healthy (${r.error.message}): refusing to take ${about} down`,
      };
    if (r.value.errors.length > 0)
      return {
        healthy: false,
        node: r.node,
        detail: `etcd on ${r.node} reports errors (${r.value.errors.join("; ")}): refusing to take ${about} down`,
      };
    byNode.set(r.node, r.value);
  }
  const first = ctx.controlPlanes[0] as string;
  let members: EtcdMember[];
  try {
    members = await etcdMembers(ctx.client, first, call);
  } catch (error) {
    return {
      healthy: false,
      cause: error,
      node: first,
      detail: `cannot list etcd members on ${first}: ${messageOf(error)}`,
    };
  }
  const voters = members.filter((m) => !m.isLearner);
  const seen = new Set<bigint>();
  for (const s of byNode.values()) seen.add(s.memberId).add(s.leader);
  const outside = voters.flatMap((m) => {
    const node = seen.has(m.id) ? undefined : memberNode(m);
    return node ? [node] : [];
  });
  for (const r of await etcdStatuses(ctx.client, outside, call))
    if ("value" in r && r.value.errors.length === 0) seen.add(r.value.memberId).add(r.value.leader);
  const healthy = voters.filter((m) => seen.has(m.id));
  const downId = byNode.get(about)?.memberId;
  const goingDown = healthy.some((m) => m.id === downId) ? 1 : 0;
  const quorum = Math.floor(voters.length / 2) + 1;
  const left = healthy.length - goingDown;
  const learners = members.length - voters.length;
  const counted = `${voters.length} voting member(s)${learners ? ` and ${learners} learner(s)` : ""}, ${healthy.length} seen healthy, quorum ${quorum}`;
  // A single voter is etcd itself: it is down while it reboots, which the
  // plan accepts for a one-control-plane cluster.
  if (voters.length > 1 && left < quorum) {
    return {
      healthy: false,
      node: about,
      detail: `etcd has ${counted}: taking ${about} down would leave ${left} healthy voting member(s), below the quorum`,
    };
  }
  return {
    healthy: true,
    detail: `${ctx.controlPlanes.length} control-plane node(s) healthy, ${counted}${voters.length > 1 ? "" : " (single member: etcd is down while it reboots)"}`,
  };
}

/**
 * The Kubernetes gate before `about` (a control plane) goes down: every
 * Kubernetes node of the plan Ready, waiting at most the gate timeout. On
 * only with `kube` and `gates.kubernetes`.
 */
export async function kubernetesGate(ctx: RunContext, about: string): Promise<void> {
  const kube = ctx.options.kube;
  if (!kube || !ctx.options.gates?.kubernetes) return;
  const planned = ctx.plan.nodes;
  let problem = "the Kubernetes nodes were not read";
  let bad: string | undefined;
  const refuse = () =>
    refused(
      ctx,
      "kubernetes",
      "UPGRADE_KUBERNETES_NOT_READY",
      bad ?? about,
      `${problem}: refusing to take ${about} down`,
      ctx.signal?.aborted ? ctx.signal.reason : undefined,
    );
  await pollUntil(
    async (signal) => {
      let seen: Map<string, { ready: boolean; reason: string }>;
      try {
        seen = new Map(
          (await kube.nodes({ signal, timeoutMs: ctx.callMs })).map((n) => [n.name, n]),
        );
      } catch (error) {
        if (signal.aborted) throw error;
        bad = undefined;
        problem = `cannot list Kubernetes nodes: ${messageOf(error)}`;
        return undefined;
      }
      const notReady = planned.filter((p) => !seen.get(p.hostname)?.ready);
      const first = notReady[0];
      if (!first) return true;
      const k = seen.get(first.hostname);
      bad = first.node;
      problem = `${notReady.length} Kubernetes node(s) of the plan not Ready, first ${first.hostname} (${bad}): ${k ? k.reason : "no Node of that name"}`;
      return undefined;
    },
    { intervalMs: ctx.gateIntervalMs, timeoutMs: ctx.gateMs, signal: ctx.signal, timedOut: refuse },
  ).catch((error: unknown) => {
    throw error instanceof UpgradeError ? error : refuse();
  });
  ctx.emit({
    type: "gate",
    gate: "kubernetes",
    node: about,
    ok: true,
    detail: `${planned.length} Kubernetes node(s) of the plan Ready`,
  });
}
