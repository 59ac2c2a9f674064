// The simulator must answer the way a Talos node (apid in front of machined)
// does: each test names the upstream behaviour it mirrors.
import { fromBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { State } from "@taloskit/api/cosi";
import { MachineService } from "@taloskit/api/machine";
import { MemberSpecSchema } from "@taloskit/api/resources/cluster";
import { HostnameStatusSpecSchema } from "@taloskit/api/resources/network";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type ClusterSimulator, startCluster } from "../src/index.js";
import { makeClient, md, stream, unary } from "./helpers.js";

const CP = "10.5.0.2";
const WORKER = "10.5.0.3";

let sim: ClusterSimulator;
let client: grpc.Client;
beforeAll(async () => {
  sim = await startCluster({
    nodes: [
      { address: CP, role: "controlplane", version: "v1.14.0" },
      { address: WORKER, role: "worker", version: "v1.13.9" },
    ],
  });
  client = makeClient(sim.endpoint, sim.pki);
});
afterAll(async () => {
  client.close();
  await sim.close();
});

function meta(entries: [string, string][]): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of entries) m.add(k, v);
  return m;
}

type Md = { hostname: string; error: string; status?: { code: number; message: string } };
type VersionReply = { messages: { metadata?: Md; version?: { tag: string } }[] };
type DataMsg = { metadata?: Md; bytes: Uint8Array };

const text = (msgs: DataMsg[]) => msgs.map((m) => Buffer.from(m.bytes).toString("utf8")).join("");

describe("routing metadata (apid director)", () => {
  // apid: a `node` key with other than exactly one value is refused with
  // InvalidArgument "node metadata must be single-valued" before any routing.
  it("refuses two `node` header fields with InvalidArgument, not as one joined node name", async () => {
    const err = await unary(
      client,
      MachineService.method.version,
      {},
      meta([
        ["node", CP],
        ["node", WORKER],
      ]),
    ).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: "node metadata must be single-valued",
    });
    // ... also when `nodes` is present, since the `node` check comes first.
    const both = await unary(
      client,
      MachineService.method.version,
      {},
      meta([
        ["node", CP],
        ["node", WORKER],
        ["nodes", CP],
      ]),
    ).catch((e: grpc.ServiceError) => e);
    expect(both).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  // grpc-go keeps a single "a, b" value as one target; apid then fails to reach it.
  it("routes a single comma-joined `node` value as one (unknown) node name", async () => {
    const err = await unary(
      client,
      MachineService.method.version,
      {},
      md(`${CP}, ${WORKER}`),
    ).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  // apid 1.14 still proxies `nodes` one-to-many for MachineService: a unary
  // answer merges one `messages` entry per node, each with metadata.hostname.
  it("proxies legacy `nodes` (one entry per node) one-to-many with metadata.hostname", async () => {
    const before = sim.node(WORKER).calls("machine.MachineService/Version");
    const r = await unary<VersionReply>(
      client,
      MachineService.method.version,
      {},
      meta([
        ["nodes", CP],
        ["nodes", WORKER],
      ]),
    );
    const byHost = Object.fromEntries(
      r.messages.map((m) => [m.metadata?.hostname, m.version?.tag]),
    );
    expect(byHost).toEqual({ [CP]: "v1.14.0", [WORKER]: "v1.13.9" });
    expect(sim.node(WORKER).calls("machine.MachineService/Version")).toBe(before + 1);
  });

  // apid: a node that cannot be reached becomes an entry whose metadata holds
  // the error text (grpc-go's "rpc error: code = ... desc = ...") and status.
  it("reports a failing node inside the answer, beside the others", async () => {
    const r = await unary<VersionReply>(
      client,
      MachineService.method.version,
      {},
      meta([
        ["nodes", CP],
        ["nodes", "10.9.9.9"],
      ]),
    );
    expect(r.messages).toHaveLength(2);
    const bad = r.messages.find((m) => m.metadata?.hostname === "10.9.9.9");
    expect(bad?.version).toBeUndefined();
    expect(bad?.metadata?.error).toMatch(/^rpc error: code = Unavailable desc = /);
    expect(bad?.metadata?.status?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.messages.find((m) => m.metadata?.hostname === CP)?.version?.tag).toBe("v1.14.0");
  });

  // grpc-go does not split "a, b": with `nodes` it is one target, whose failure is reported.
  it("treats a comma-joined single `nodes` value as one node name", async () => {
    const joined = `${CP}, ${WORKER}`;
    const r = await unary<VersionReply>(
      client,
      MachineService.method.version,
      {},
      meta([["nodes", joined]]),
    );
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]?.metadata?.hostname).toBe(joined);
    expect(r.messages[0]?.metadata?.status?.code).toBe(grpc.status.UNAVAILABLE);
  });

  // apid: in one-to-many mode each streamed message carries its node's hostname.
  it("streams from every node of `nodes`, each message tagged with its node", async () => {
    const msgs = await stream<DataMsg>(
      client,
      MachineService.method.dmesg,
      {},
      meta([
        ["nodes", CP],
        ["nodes", WORKER],
      ]),
    );
    const hosts = new Set(msgs.map((m) => m.metadata?.hostname));
    expect(hosts).toEqual(new Set([CP, WORKER]));
    expect(msgs.every((m) => m.bytes.length > 0)).toBe(true);
  });

  // apid's director allows `nodes` only for MachineService, ClusterService,
  // InspectService, StorageService and TimeService methods.
  it("refuses `nodes` for COSI with apid's InvalidArgument", async () => {
    const err = await stream(
      client,
      State.method.list,
      { namespace: "runtime", type: "Versions.runtime.talos.dev" },
      meta([["nodes", CP]]),
    ).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: "one-2-many proxying is not supported for method /cosi.resource.State/List",
    });
  });

  // apid refuses a target with a port before dialling: Internal `invalid target "..."`.
  it("refuses a `nodes` target with a port", async () => {
    const err = await unary(
      client,
      MachineService.method.version,
      {},
      meta([["nodes", `${CP}:50000`]]),
    ).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({
      code: grpc.status.INTERNAL,
      details: `invalid target "${CP}:50000"`,
    });
  });
});

describe("Logs (machined)", () => {
  const logs = (req: Record<string, unknown>, node = CP) =>
    stream<DataMsg>(client, MachineService.method.logs, req, md(node));

  // machined: tail_lines >= 0 keeps that many last lines (0: none); negative: all.
  it("tail_lines 0 returns no line, -1 every line, N the last N", async () => {
    const all = sim.node(CP).state.logs.get("etcd") ?? [];
    expect(all.length).toBeGreaterThan(1);
    expect(text(await logs({ namespace: "system", id: "etcd", tailLines: 0 }))).toBe("");
    expect(text(await logs({ namespace: "system", id: "etcd", tailLines: -1 }))).toBe(
      all.map((l) => `${l}\n`).join(""),
    );
    expect(text(await logs({ namespace: "system", id: "etcd", tailLines: 1 }))).toBe(
      `${all.at(-1)}\n`,
    );
  });

  // machined: the system namespace reads the service log buffers; the CRI
  // namespace (k8s.io) reads containers, so a service id is not found there.
  it("serves services from the system namespace and containers from k8s.io", async () => {
    const svc = await logs({ namespace: "system", id: "etcd", tailLines: -1 });
    expect(text(svc)).toContain("etcd");
    const inCri = await logs({ namespace: "k8s.io", driver: 1, id: "etcd", tailLines: -1 }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect(inCri).toMatchObject({
      code: grpc.status.UNKNOWN,
      details: 'container "etcd" not found',
    });

    const id = `kube-system/kube-apiserver-${sim.node(CP).state.hostname}:kube-apiserver`;
    const pod = await logs({ namespace: "k8s.io", driver: 1, id, tailLines: -1 });
    expect(text(pod)).toContain("kube-apiserver");
    const podInSystem = await logs({ namespace: "system", id, tailLines: -1 }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect(podInSystem).toMatchObject({
      code: grpc.status.UNKNOWN,
      details: `log ${JSON.stringify(id)} was not registered`,
    });
  });

  // machined: kubelet is always read from the service logs; an empty namespace
  // otherwise is InvalidArgument "namespace can't be empty"; CRI needs k8s.io.
  it("keeps kubelet in the service logs and checks namespace and driver", async () => {
    expect(text(await logs({ id: "kubelet", tailLines: -1 }))).toContain("kubelet");
    await expect(logs({ id: "etcd", tailLines: -1 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: "namespace can't be empty",
    });
    await expect(
      logs({ namespace: "system", driver: 1, id: "nope", tailLines: -1 }),
    ).rejects.toMatchObject({ details: 'log "nope" was not registered' });
    await expect(
      logs({ namespace: "other", driver: 1, id: "x", tailLines: -1 }),
    ).rejects.toMatchObject({ details: "CRI inspector is supported only for K8s namespace" });
  });
});

describe("Dmesg (machined)", () => {
  // machined formats each /dev/kmsg record as "facility: priority(7 wide): [RFC3339Nano]: message";
  // a /dev/kmsg record ends with "\n" and go-kmsg keeps it, so each message ends with one newline.
  it("sends one record per message in Talos's format, each ending with its newline", async () => {
    const msgs = await stream<DataMsg>(client, MachineService.method.dmesg, {}, md(CP));
    const records = msgs.map((m) => Buffer.from(m.bytes).toString("utf8"));
    expect(records).toHaveLength(sim.node(CP).state.dmesg.length);
    for (const r of records) {
      const m =
        /^kern: ( *(?:emerg|alert|crit|err|warning|notice|info|debug)): \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d*[1-9])?Z)\]: [^\n]+\n$/.exec(
          r,
        );
      expect(m, r).not.toBeNull();
      expect(m?.[1]).toHaveLength(7);
      expect(Number.isNaN(Date.parse(m?.[2] ?? ""))).toBe(false);
    }
    expect(records[0]).toMatch(/^kern: {2}notice: \[.*\]: Linux version /);
  });

  // go-kmsg FromTail: reading starts after the last record, so without follow nothing comes.
  it("sends nothing old with tail", async () => {
    expect(await stream(client, MachineService.method.dmesg, { tail: true }, md(CP))).toEqual([]);
  });
});

describe("resource types a node serves (pkg/machinery/resources)", () => {
  type Res = {
    resource?: {
      metadata?: { id: string; namespace: string };
      spec?: { yamlSpec: string; protoSpec: Uint8Array };
    };
  };
  const list = (namespace: string, type: string, node = CP) =>
    stream<Res>(client, State.method.list, { namespace, type }, md(node));
  const yamls = (rs: Res[]) =>
    Object.fromEntries(
      rs.map((r) => [r.resource?.metadata?.id, parse(r.resource?.spec?.yamlSpec ?? "")]),
    );

  // network.HostnameStatusType "HostnameStatuses.net.talos.dev", namespace network, alias "hostname", id "hostname".
  it("serves HostnameStatus with the node's hostname", async () => {
    const h = yamls(await list("network", "HostnameStatuses.net.talos.dev", WORKER));
    expect(h.hostname).toMatchObject({ hostname: sim.node(WORKER).state.hostname });
    const pb = (await list("network", "HostnameStatuses.net.talos.dev", WORKER))[0]?.resource?.spec
      ?.protoSpec;
    expect(fromBinary(HostnameStatusSpecSchema, pb ?? new Uint8Array()).hostname).toBe(
      sim.node(WORKER).state.hostname,
    );
  });

  // network.AddressStatusType "AddressStatuses.net.talos.dev": ids "<link>/<prefix>", lo and the node's address.
  it("serves AddressStatuses with loopback and the node's own address", async () => {
    const a = yamls(await list("network", "AddressStatuses.net.talos.dev", WORKER));
    expect(Object.keys(a).sort()).toEqual(["enp1s0/10.5.0.3/24", "lo/127.0.0.1/8"]);
    expect(a["enp1s0/10.5.0.3/24"]).toMatchObject({
      address: "10.5.0.3/24",
      linkName: "enp1s0",
      family: "inet4",
    });
  });

  // cluster.MemberType "Members.cluster.talos.dev", namespace cluster: one per discovered node, id = hostname.
  it("serves cluster Members for every configured node", async () => {
    const rs = await list("cluster", "Members.cluster.talos.dev", WORKER);
    const m = yamls(rs);
    const cpHost = sim.node(CP).state.hostname;
    const wHost = sim.node(WORKER).state.hostname;
    expect(Object.keys(m).sort()).toEqual([cpHost, wHost].sort());
    expect(m[cpHost]).toMatchObject({
      addresses: [CP],
      machineType: "controlplane",
      controlPlane: { apiServerPort: 6443 },
    });
    expect(m[wHost]).toMatchObject({
      addresses: [WORKER],
      machineType: "worker",
      operatingSystem: "Talos (v1.13.9)",
    });
    const spec = fromBinary(
      MemberSpecSchema,
      rs.find((r) => r.resource?.metadata?.id === wHost)?.resource?.spec?.protoSpec ??
        new Uint8Array(),
    );
    expect([...(spec.addresses[0]?.ip ?? [])]).toEqual([10, 5, 0, 3]);
  });

  // k8s.NodenameType "Nodenames.kubernetes.talos.dev" (namespace k8s, id "nodename");
  // etcd.MemberType "EtcdMembers.etcd.talos.dev" (namespace etcd, id "local") on control planes only.
  it("serves Nodename and, on control planes, the local EtcdMember", async () => {
    expect(
      yamls(await list("k8s", "Nodenames.kubernetes.talos.dev", WORKER)).nodename,
    ).toMatchObject({
      nodename: sim.node(WORKER).state.hostname,
    });
    const etcd = yamls(await list("etcd", "EtcdMembers.etcd.talos.dev", CP));
    expect(etcd.local).toMatchObject({
      memberID: sim.node(CP).state.etcd?.id.toString(16).padStart(16, "0"),
    });
    expect(await list("etcd", "EtcdMembers.etcd.talos.dev", WORKER)).toEqual([]);
  });

  // The definitions carry Talos's aliases ("hostname", "address(es)") for `talosctl get`.
  it("registers the types with their namespaces and aliases", async () => {
    const rds = yamls(await list("meta", "ResourceDefinitions.meta.cosi.dev", WORKER));
    expect(rds["hostnamestatuses.net.talos.dev"]).toMatchObject({
      defaultNamespace: "network",
      aliases: ["hostname"],
    });
    expect(rds["addressstatuses.net.talos.dev"]).toMatchObject({
      aliases: ["address", "addresses"],
    });
    expect(rds["members.cluster.talos.dev"]).toMatchObject({ defaultNamespace: "cluster" });
    expect(rds["members.cluster.talos.dev"]?.allAliases).toContain("members");
  });
});
