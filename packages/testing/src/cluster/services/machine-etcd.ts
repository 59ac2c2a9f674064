// MachineService calls only a control plane running etcd serves: the etcd
// member list, status, snapshot and recovery upload, the admin calls (leave,
// forfeit leadership, defragment, alarms), Bootstrap, and the admin kubeconfig.
import * as grpc from "@grpc/grpc-js";
import {
  adminKubeconfig,
  ETCD_RECOVERY_PATH,
  etcdSnapshot,
  readEtcdSnapshot,
} from "../artifacts.js";
import { damageSnapshot, type NodeFaults } from "../faults.js";
import { status } from "../grpc.js";
import type { CallContext, ClientStreamImpl, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { NodeTls } from "../machine.js";
import type { SimNodeState } from "../state.js";
import { tarGz } from "../tar.js";
import type { UploadLog } from "../uploads.js";
import { requireEtcd, sendData } from "./shared.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";

/** What the control-plane calls read of a node. */
export interface EtcdHost {
  readonly address: string;
  readonly state: SimNodeState;
  readonly tls: NodeTls;
  readonly faults: NodeFaults;
  readonly uploads: UploadLog;
  /** The nodes of the cluster, this one included: etcd members are theirs. */
  peers(): { readonly state: SimNodeState }[];
  touch(): void;
}

/** The member that leads: the one marked, else the first. */
function leaderOf(node: EtcdHost) {
  const members = node
    .peers()
    .map((n) => n.state.etcd)
    .filter((e): e is NonNullable<typeof e> => e !== undefined);
  return members.find((m) => m.leader) ?? members[0];
}

const ALARMS = { NOSPACE: 1, CORRUPT: 2 } as const;

/** The member a bootstrap starts on a control plane that has none (after a reset). */
function newMember(node: EtcdHost): NonNullable<SimNodeState["etcd"]> {
  const id = [...node.address].reduce(
    (h, c) => (h * 131n + BigInt(c.charCodeAt(0))) & 0xffffffffffffn,
    7n,
  );
  return {
    id: 0x5000000000000000n | id,
    hostname: node.state.hostname,
    peerUrls: [`https://${node.address}:2380`],
    clientUrls: [`https://${node.address}:2379`],
    isLearner: false,
    healthy: true,
    dbSize: 1_000_000n,
  };
}

/**
 * Bootstrap with recover_etcd, as Talos does it: the snapshot EtcdRecover
 * stored is restored into the new member (etcdutl snapshot restore, which
 * checks the SHA-256 trailer unless recover_skip_hash_check), then removed.
 * Talos: internal/app/machined/internal/server/v1alpha1 Bootstrap and the etcd
 * service's recovery bootstrap. The simulator refuses in the call itself.
 */
function recoverEtcd(node: EtcdHost, skipHashCheck: boolean): Record<string, string> {
  const file = node.state.files.get(ETCD_RECOVERY_PATH);
  if (!(file instanceof Uint8Array))
    throw status(S.FAILED_PRECONDITION, "no etcd snapshot was uploaded for recovery (EtcdRecover)");
  try {
    return readEtcdSnapshot(file, skipHashCheck).keys;
  } catch (error) {
    throw status(
      S.INVALID_ARGUMENT,
      `failed to recover etcd from the snapshot: ${(error as Error).message}`,
    );
  }
}

/** Bootstrap, EtcdLeaveCluster, EtcdForfeitLeadership, EtcdDefragment and EtcdAlarmList. */
function etcdAdminImpls(node: EtcdHost): Impls {
  const st = node.state;
  return {
    [`${M}Bootstrap`]: (req: { recoverEtcd: boolean; recoverSkipHashCheck: boolean }) => {
      if (st.role !== "controlplane")
        throw status(
          S.FAILED_PRECONDITION,
          "bootstrap can only be performed on a control plane node",
        );
      if (st.etcdBootstrapped ?? st.etcd !== undefined)
        throw status(S.ALREADY_EXISTS, "etcd data directory is not empty");
      const restored = req.recoverEtcd ? recoverEtcd(node, req.recoverSkipHashCheck) : undefined;
      st.etcd ??= newMember(node);
      if (restored) {
        st.etcd.keys = restored;
        st.files.delete(ETCD_RECOVERY_PATH);
      }
      st.etcdBootstrapped = true;
      node.touch();
      return { messages: [{}] };
    },
    [`${M}EtcdLeaveCluster`]: () => {
      requireEtcd(st);
      st.etcd = undefined;
      const svc = st.services.find((s) => s.id === "etcd");
      if (svc) {
        svc.state = "Finished";
        svc.healthy = false;
      }
      node.touch();
      return { messages: [{}] };
    },
    [`${M}EtcdForfeitLeadership`]: () => {
      requireEtcd(st);
      const leader = leaderOf(node);
      const members = node
        .peers()
        .map((n) => n.state.etcd)
        .filter((e): e is NonNullable<typeof e> => e !== undefined);
      // Only the leader hands leadership on, to another member; otherwise nothing changes.
      if (leader !== st.etcd || members.length < 2) return { messages: [{ member: "" }] };
      const next = members.find((m) => m !== st.etcd) as (typeof members)[number];
      for (const m of members) m.leader = m === next;
      return { messages: [{ member: next.id.toString(16) }] };
    },
    [`${M}EtcdDefragment`]: () => {
      requireEtcd(st);
      const e = st.etcd as NonNullable<SimNodeState["etcd"]>;
      e.dbSize = e.dbSizeInUse ?? e.dbSize / 2n;
      e.dbSizeInUse = e.dbSize;
      return { messages: [{}] };
    },
    [`${M}EtcdAlarmList`]: () => {
      requireEtcd(st);
      const memberAlarms = node
        .peers()
        .map((n) => n.state.etcd)
        .filter((e): e is NonNullable<typeof e> => e !== undefined)
        .flatMap((e) => (e.alarms ?? []).map((a) => ({ memberId: e.id, alarm: ALARMS[a] })));
      return { messages: [{ memberAlarms }] };
    },
  };
}

function etcdMembers(node: EtcdHost) {
  return node
    .peers()
    .map((n) => n.state.etcd)
    .filter((e): e is NonNullable<typeof e> => e !== undefined)
    .map((e) => ({
      id: e.id,
      hostname: e.hostname,
      peerUrls: e.peerUrls,
      clientUrls: e.clientUrls,
      isLearner: e.isLearner,
    }));
}

/** Kubeconfig, EtcdSnapshot, EtcdMemberList, EtcdStatus, EtcdRecover and the admin calls. */
export function etcdImpls(node: EtcdHost): Impls {
  const st = node.state;
  return {
    ...etcdAdminImpls(node),
    [`${M}Kubeconfig`]: (async (_req: unknown, _ctx: CallContext, send: Send) => {
      requireEtcd(st);
      const kc = adminKubeconfig({
        cluster: "sim",
        server: `https://${node.address}:6443`,
        caPem: node.tls.caPem ?? "",
        certPem: node.tls.certPem,
        keyPem: node.tls.keyPem,
      });
      await sendData(tarGz([{ name: "kubeconfig", data: Buffer.from(kc) }]), send);
    }) as ServerStreamImpl,
    [`${M}EtcdSnapshot`]: (async (_req: unknown, _ctx: CallContext, send: Send) => {
      requireEtcd(st);
      const e = st.etcd as NonNullable<SimNodeState["etcd"]>;
      const snapshot = etcdSnapshot({ keys: e.keys, dbSize: e.dbSize });
      await sendData(damageSnapshot(node.faults, snapshot), send, 64 * 1024);
    }) as ServerStreamImpl,
    [`${M}EtcdMemberList`]: () => {
      requireEtcd(st);
      return { messages: [{ members: etcdMembers(node), legacyMembers: [] }] };
    },
    [`${M}EtcdStatus`]: () => {
      requireEtcd(st);
      const e = st.etcd;
      if (!e) throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
      if (node.faults.etcdUnhealthy || !e.healthy)
        throw status(S.UNAVAILABLE, "etcdserver: no leader");
      return {
        messages: [
          {
            memberStatus: {
              memberId: e.id,
              protocolVersion: "3.6.0",
              storageVersion: "3.6.0",
              dbSize: e.dbSize,
              dbSizeInUse: e.dbSizeInUse ?? e.dbSize / 2n,
              leader: leaderOf(node)?.id ?? e.id,
              raftIndex: 1234n,
              raftTerm: 2n,
              raftAppliedIndex: 1234n,
              // etcd lists raised alarms among a status's errors (simplified: this member's).
              errors: (e.alarms ?? []).map((a) => `memberID:${e.id} alarm:${a}`),
              isLearner: e.isLearner,
            },
          },
        ],
      };
    },
    // As Talos: a control plane stores the upload (fsynced, a partial one removed)
    // where a later Bootstrap with recover_etcd restores it from; the snapshot's
    // integrity is checked then, as etcdutl's restore does.
    [`${M}EtcdRecover`]: (async (reqs: AsyncIterable<{ bytes: Uint8Array }>, ctx: CallContext) => {
      if (st.role !== "controlplane")
        throw status(S.FAILED_PRECONDITION, "etcd is not running on this node");
      const chunks: Uint8Array[] = [];
      const got = await node.uploads.receive(
        ctx.signal,
        (async function* () {
          for await (const d of reqs) {
            chunks.push(d.bytes);
            yield d.bytes;
          }
        })(),
      );
      if (got.bytes === 0) throw status(S.INVALID_ARGUMENT, "the etcd snapshot is empty");
      st.files.set(ETCD_RECOVERY_PATH, Buffer.concat(chunks));
      node.uploads.complete({ rpc: "EtcdRecover", ...got });
      return { messages: [{}] };
    }) as ClientStreamImpl,
  };
}
