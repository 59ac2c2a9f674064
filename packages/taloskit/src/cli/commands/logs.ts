// `taloskit logs <service|container>` and `taloskit dmesg`: a node's log
// lines and kernel messages, each line prefixed by its node as talosctl
// prints them; `-f` follows until Ctrl-C, which closes the server streams.
import type { Command } from "commander";
import { processIO } from "../globals.js";
import { nodeCommand, printNodeLines, type StreamIO, withTargets } from "./node-shell.js";

/** common.ContainerDriver.CRI. */
const DRIVER_CRI = 1;

const integer = (flag: string) => (value: string) => {
  if (!/^-?\d+$/.test(value)) throw new Error(`${flag} takes a whole number, not "${value}"`);
  return Number(value);
};

/** `taloskit logs <id> [-f] [--tail N] [-k] [-c]`. */
export function logsCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("logs", "retrieve logs for a service or container")
    .argument("<id>", "service name, or container ID with -k")
    .option("-f, --follow", "stream the logs as they are written")
    .option(
      "--tail <lines>",
      "lines of log to show first (-1: from the beginning)",
      integer("--tail"),
      -1,
    )
    .option("-k, --kubernetes", "use the k8s.io containerd namespace")
    .option("-c, --use-cri", "use the CRI driver");
  return cmd.action(
    (
      id: string,
      opts: { follow?: boolean; tail: number; kubernetes?: boolean; useCri?: boolean },
    ) =>
      withTargets(cmd, io, (run) =>
        printNodeLines(run, io, Boolean(opts.follow), (client, node, signal) =>
          client.streams.logs(
            {
              namespace: opts.kubernetes ? "k8s.io" : "system",
              driver: opts.kubernetes || opts.useCri ? DRIVER_CRI : 0,
              id,
              follow: Boolean(opts.follow),
              tailLines: opts.tail,
            },
            { node, signal },
          ),
        ),
      ),
  );
}

/** `taloskit dmesg [-f] [--tail]`. */
export function dmesgCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("dmesg", "retrieve kernel logs")
    .option("-f, --follow", "stream new kernel messages as they come")
    .option("--tail", "only new messages (with --follow)");
  return cmd.action((opts: { follow?: boolean; tail?: boolean }) =>
    withTargets(cmd, io, (run) =>
      printNodeLines(run, io, Boolean(opts.follow), (client, node, signal) =>
        client.streams.dmesg(
          { follow: Boolean(opts.follow), tail: Boolean(opts.tail) },
          { node, signal },
        ),
      ),
    ),
  );
}
