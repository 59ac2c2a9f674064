// `taloskit etcd members|status|snapshot|leave|forfeit-leadership|defrag|alarm list`:
// talosctl's etcd commands over the machine API of control-plane nodes.
import { rename, rm, writeFile } from "node:fs/promises";
import { EtcdMemberAlarm_AlarmType } from "@taloskit/api/machine";
import { Command } from "commander";
import { verifyEtcdSnapshot } from "../../upgrade/etcd-snapshot.js";
import { type CommandIO, processIO, withGlobalFlags } from "../globals.js";
import { callOf, onEachNode, printRows, singleNode, userPath } from "./node-action.js";
import { humanBytes } from "./node-shell.js";

/** CommandIO plus whether stderr is a terminal (progress redraws in place). */
export interface EtcdCommandIO extends CommandIO {
  isTTY?: boolean;
}

/** An etcd member ID as talosctl prints it: 16 hex digits. */
const hexId = (id: bigint) => id.toString(16).padStart(16, "0");

/** A command of the group: global flags, and an action over the target nodes. */
function sub(name: string, description: string): Command {
  return withGlobalFlags(new Command(name).description(description));
}

function membersCommand(io: CommandIO): Command {
  const cmd = sub("members", "list the etcd members as the nodes see them");
  return cmd.action(async () => {
    const { flags, results } = await onEachNode(cmd, io, async (t) => {
      const res = await t.services.machine.etcdMemberList({}, callOf(t));
      return res.messages[0]?.members ?? [];
    });
    const rows = results.flatMap(({ node, value }) =>
      value.map((m) => ({
        node,
        id: hexId(m.id),
        hostname: m.hostname,
        peerUrls: m.peerUrls,
        clientUrls: m.clientUrls,
        learner: m.isLearner,
      })),
    );
    printRows(io, flags, rows, [
      { header: "NODE", value: (r) => r.node },
      { header: "ID", value: (r) => r.id },
      { header: "HOSTNAME", value: (r) => r.hostname },
      { header: "PEER URLS", value: (r) => r.peerUrls },
      { header: "CLIENT URLS", value: (r) => r.clientUrls },
      { header: "LEARNER", value: (r) => r.learner },
    ]);
  });
}

function statusCommand(io: CommandIO): Command {
  const cmd = sub("status", "the etcd status of each node's member");
  return cmd.action(async () => {
    const { flags, results } = await onEachNode(cmd, io, async (t) => {
      const res = await t.services.machine.etcdStatus({}, callOf(t));
      const s = res.messages[0]?.memberStatus;
      if (!s) throw new Error("the node sent no etcd status");
      return s;
    });
    const rows = results.map(({ node, value: s }) => ({
      node,
      member: hexId(s.memberId),
      dbSize: Number(s.dbSize),
      dbSizeInUse: Number(s.dbSizeInUse),
      leader: hexId(s.leader),
      raftIndex: Number(s.raftIndex),
      raftTerm: Number(s.raftTerm),
      raftAppliedIndex: Number(s.raftAppliedIndex),
      learner: s.isLearner,
      protocolVersion: s.protocolVersion,
      storageVersion: s.storageVersion,
      errors: s.errors,
    }));
    printRows(io, flags, rows, [
      { header: "NODE", value: (r) => r.node },
      { header: "MEMBER", value: (r) => r.member },
      { header: "DB SIZE", value: (r) => humanBytes(r.dbSize) },
      {
        header: "IN USE",
        value: (r) =>
          `${humanBytes(r.dbSizeInUse)} (${r.dbSize ? ((r.dbSizeInUse / r.dbSize) * 100).toFixed(2) : "0.00"}%)`,
      },
      { header: "LEADER", value: (r) => r.leader },
      { header: "RAFT INDEX", value: (r) => r.raftIndex },
      { header: "RAFT TERM", value: (r) => r.raftTerm },
      { header: "RAFT APPLIED INDEX", value: (r) => r.raftAppliedIndex },
      { header: "LEARNER", value: (r) => r.learner },
      { header: "PROTOCOL", value: (r) => r.protocolVersion },
      { header: "STORAGE", value: (r) => r.storageVersion },
      { header: "ERRORS", value: (r) => r.errors.join(", ") },
    ]);
  });
}

function snapshotCommand(io: EtcdCommandIO): Command {
  const cmd = sub("snapshot", "stream an etcd snapshot of one node to a local file").argument(
    "<path>",
    "where to write the snapshot",
  );
  return cmd.action(async (path: string) => {
    const target = userPath(io.env, path);
    const part = `${target}.part`;
    const { flags, results } = await onEachNode(
      cmd,
      io,
      async (t) => {
        let bytes = 0;
        const chunks: Uint8Array[] = [];
        for await (const chunk of t.client.streams.etcdSnapshot({
          node: t.node,
          signal: t.signal,
        })) {
          chunks.push(chunk);
          bytes += chunk.length;
          if (io.isTTY) io.stderr(`\r\x1b[K${humanBytes(bytes)} received`);
        }
        if (io.isTTY) io.stderr("\r\x1b[K");
        try {
          await writeFile(part, Buffer.concat(chunks), { mode: 0o600 });
        } catch (error) {
          await rm(part, { force: true });
          throw new Error(
            `cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? error}`,
          );
        }
        // Read back as etcd's restore would before calling it a snapshot.
        try {
          await verifyEtcdSnapshot(part);
        } catch (error) {
          await rm(part, { force: true });
          throw error;
        }
        await rename(part, target);
        return bytes;
      },
      singleNode("etcd snapshot"),
    );
    for (const { node, value } of results) {
      if (flags.output === "table")
        io.stdout(`etcd snapshot saved to ${JSON.stringify(target)} (${value} bytes)\n`);
      else printRows(io, flags, [{ node, path: target, bytes: value }], []);
    }
  });
}

/** A call with nothing to print: a table prints nothing, json and yaml a row per node. */
function quietCommand(
  io: CommandIO,
  name: string,
  description: string,
  call: (t: Parameters<Parameters<typeof onEachNode>[2]>[0]) => Promise<Record<string, unknown>>,
): Command {
  const cmd = sub(name, description);
  return cmd.action(async () => {
    const { flags, results } = await onEachNode(cmd, io, call);
    if (flags.output !== "table")
      printRows(
        io,
        flags,
        results.map(({ node, value }) => ({ node, ...value })),
        [],
      );
  });
}

function alarmCommand(io: CommandIO): Command {
  const list = sub("list", "list the etcd alarms of the cluster");
  list.action(async () => {
    const { flags, results } = await onEachNode(list, io, async (t) => {
      const res = await t.services.machine.etcdAlarmList({}, callOf(t));
      return res.messages[0]?.memberAlarms ?? [];
    });
    const rows = results.flatMap(({ node, value }) =>
      value.map((a) => ({
        node,
        member: hexId(a.memberId),
        alarm: EtcdMemberAlarm_AlarmType[a.alarm] ?? String(a.alarm),
      })),
    );
    printRows(io, flags, rows, [
      { header: "NODE", value: (r) => r.node },
      { header: "MEMBER", value: (r) => r.member },
      { header: "ALARM", value: (r) => r.alarm },
    ]);
  });
  return new Command("alarm").description("etcd alarms").addCommand(list);
}

/** The `etcd` command group. */
export function etcdCommand(io: EtcdCommandIO = processIO): Command {
  return new Command("etcd")
    .description("manage the etcd cluster of the control-plane nodes")
    .addCommand(membersCommand(io))
    .addCommand(statusCommand(io))
    .addCommand(snapshotCommand(io))
    .addCommand(
      quietCommand(io, "leave", "tell the nodes to leave the etcd cluster", async (t) => {
        await t.services.machine.etcdLeaveCluster({}, callOf(t));
        return { left: true };
      }),
    )
    .addCommand(
      quietCommand(
        io,
        "forfeit-leadership",
        "tell the nodes to give up etcd leadership when they hold it",
        async (t) => {
          const res = await t.services.machine.etcdForfeitLeadership({}, callOf(t));
          return { member: res.messages[0]?.member ?? "" };
        },
      ),
    )
    .addCommand(
      quietCommand(
        io,
        "defrag",
        "defragment the etcd database of the nodes (blocks their member while it runs)",
        async (t) => {
          await t.services.machine.etcdDefragment({}, callOf(t));
          return { defragmented: true };
        },
      ),
    )
    .addCommand(alarmCommand(io));
}
