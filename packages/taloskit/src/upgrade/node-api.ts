// Every call an upgrade makes to change a node or to check etcd, in one place:
// pull the installer, run it (LifecycleService), reboot, the legacy
// MachineService.Upgrade, the machine event stream, and etcd status and
// members. The steps above call these plain functions and never the client
// directly; reading a node's facts is inspect.ts.
import { ContainerDriver, ContainerdNamespace } from "@taloskit/api/common";
import {
  type MachineEvent,
  RebootRequest_Mode,
  UpgradeRequest_RebootMode,
} from "@taloskit/api/machine";
import { type NodeResult, type TalosClient, talosContext } from "@taloskit/client";

/** Per call: the caller's signal (with any deadline) and the call's timeout. */
export interface NodeCall {
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/** The containerd instance an installer is pulled into and run from. */
export interface Containerd {
  driver: ContainerDriver;
  namespace: ContainerdNamespace;
}

/** As talosctl: the CRI driver, system namespace. */
export const DEFAULT_CONTAINERD: Containerd = {
  driver: ContainerDriver.CRI,
  namespace: ContainerdNamespace.NS_SYSTEM,
};

/** One layer's progress of a pull. */
export interface PullProgress {
  layer: string;
  offset: number;
  total: number;
}

/** ImageService.Pull of an image, reporting each layer's progress. */
export async function pullImage(
  client: TalosClient,
  node: string,
  image: string,
  containerd: Containerd,
  call: NodeCall,
  onProgress: (p: PullProgress) => void,
): Promise<void> {
  for await (const r of client.at(node).image.pull({ containerd, imageRef: image }, { ...call })) {
    if (r.response.case === "pullProgress") {
      const p = r.response.value;
      onProgress({
        layer: p.layerId,
        offset: Number(p.progress?.offset ?? 0n),
        total: Number(p.progress?.total ?? 0n),
      });
    }
  }
}

/**
 * LifecycleService.Upgrade: runs the installer of `image`, reporting its
 * output; resolves with its exit code (undefined when the stream gave none).
 */
export async function runInstaller(
  client: TalosClient,
  node: string,
  image: string,
  containerd: Containerd,
  call: NodeCall,
  onOutput: (message: string) => void,
): Promise<number | undefined> {
  let code: number | undefined;
  for await (const r of client
    .at(node)
    .lifecycle.upgrade({ containerd, source: { imageName: image } }, { ...call })) {
    const p = r.progress?.response;
    if (p?.case === "message") onOutput(p.value);
    else if (p?.case === "exitCode") code = p.value;
  }
  return code;
}

/** How a Reboot call reboots. */
export type RebootMode = "default" | "powercycle" | "force";

const REBOOT_MODES: Record<RebootMode, RebootRequest_Mode> = {
  default: RebootRequest_Mode.DEFAULT,
  powercycle: RebootRequest_Mode.POWERCYCLE,
  force: RebootRequest_Mode.FORCE,
};

/** MachineService.Reboot. */
export async function rebootNode(
  client: TalosClient,
  node: string,
  mode: RebootMode,
  call: NodeCall,
): Promise<void> {
  await client.at(node).machine.reboot({ mode: REBOOT_MODES[mode] }, { ...call });
}

/** What the legacy MachineService.Upgrade is asked. */
export interface LegacyUpgrade {
  image: string;
  stage?: boolean | undefined;
  preserve?: boolean | undefined;
  force?: boolean | undefined;
  rebootMode?: "default" | "powercycle" | undefined;
}

/** The legacy MachineService.Upgrade, which installs and reboots by itself. */
export async function legacyUpgrade(
  client: TalosClient,
  node: string,
  request: LegacyUpgrade,
  call: NodeCall,
): Promise<void> {
  await client.at(node).machine.upgrade(
    {
      image: request.image,
      stage: request.stage ?? false,
      preserve: request.preserve ?? false,
      force: request.force ?? false,
      rebootMode:
        request.rebootMode === "powercycle"
          ? UpgradeRequest_RebootMode.POWERCYCLE
          : UpgradeRequest_RebootMode.DEFAULT,
    },
    { ...call },
  );
}

/**
 * The node's machine events (`tailEvents` of the past ones first), without
 * client retries: the reboot watch reconnects on its own schedule.
 */
export function machineEvents(
  client: TalosClient,
  node: string,
  tailEvents: number,
  signal: AbortSignal,
): AsyncIterator<MachineEvent> {
  return client
    .at(node)
    .machine.events({ tailEvents }, { signal, contextValues: talosContext({ retry: false }) })
    [Symbol.asyncIterator]();
}

/** What EtcdStatus says of the node's own member. */
export interface EtcdMemberState {
  memberId: bigint;
  /** The member ID this member sees as leader. */
  leader: bigint;
  /** Bytes of the member's database file (bbolt's high-water mark), and of it in use. */
  dbSize: bigint;
  dbSizeInUse: bigint;
  isLearner: boolean;
  /** Errors the member reports (raised alarms, ...). */
  errors: string[];
}

/** EtcdStatus of one node's member. */
export async function etcdStatus(
  client: TalosClient,
  node: string,
  call: NodeCall,
): Promise<EtcdMemberState> {
  const res = await client.at(node).machine.etcdStatus({}, { ...call });
  const s = res.messages[0]?.memberStatus;
  if (!s) throw new Error(`${node} answered EtcdStatus without a member status`);
  return s;
}

/** EtcdStatus on every node, several at once; each node's failure is its result. */
export function etcdStatuses(
  client: TalosClient,
  nodes: readonly string[],
  call: NodeCall,
): Promise<NodeResult<EtcdMemberState>[]> {
  return client.onNodes(
    nodes,
    (node, s) => etcdStatus(client, node, { signal: s, timeoutMs: call.timeoutMs }),
    { concurrency: 8, signal: call.signal },
  );
}

/** An etcd member as EtcdMemberList lists it. */
export interface EtcdMember {
  id: bigint;
  hostname: string;
  clientUrls: string[];
  isLearner: boolean;
}

/** The etcd members as `node` lists them. */
export async function etcdMembers(
  client: TalosClient,
  node: string,
  call: NodeCall,
): Promise<EtcdMember[]> {
  const list = await client.at(node).machine.etcdMemberList({}, { ...call });
  return (list.messages[0]?.members ?? []).map((m) => ({
    id: m.id,
    hostname: m.hostname,
    clientUrls: m.clientUrls,
    isLearner: m.isLearner,
  }));
}

/** EtcdSnapshot of `node`'s member, as a byte stream (the caller's signal ends it). */
export function etcdSnapshotStream(
  client: TalosClient,
  node: string,
  signal: AbortSignal | undefined,
): AsyncIterable<Uint8Array> {
  return client.streams.etcdSnapshot({ node, signal });
}

/** EtcdForfeitLeadership on `node`: the member it moved leadership to ("" when none). */
export async function forfeitEtcdLeadership(
  client: TalosClient,
  node: string,
  call: NodeCall,
): Promise<string> {
  const res = await client.at(node).machine.etcdForfeitLeadership({}, { ...call });
  return res.messages[0]?.member ?? "";
}
