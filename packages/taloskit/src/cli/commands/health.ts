// `taloskit health [--wait-timeout D] [--control-plane-nodes LIST]
// [--worker-nodes LIST]`: talosctl's cluster checks (etcd, apid, kubelet,
// boot sequence, ...) run by a control-plane node (ClusterService.HealthCheck),
// its progress printed as it comes.
import type { Command } from "commander";
import { parseDuration, processIO } from "../globals.js";
import {
  nodeCommand,
  nodeLabel,
  reportNodes,
  type StreamIO,
  streamPrinter,
  withTargets,
} from "./node-shell.js";

const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean),
];

/** `taloskit health`. */
export function healthCommand(io: StreamIO = processIO): Command {
  const cmd = nodeCommand("health", "check the cluster's health")
    .option("--wait-timeout <d>", "how long to wait for the cluster to be healthy", "20m0s")
    .option(
      "--control-plane-nodes <list>",
      "the control-plane nodes to check (comma separated)",
      list,
    )
    .option("--worker-nodes <list>", "the worker nodes to check (comma separated)", list)
    .option("--k8s-endpoint <url>", "the Kubernetes API endpoint to check against");
  return cmd.action(
    (opts: {
      waitTimeout: string;
      controlPlaneNodes?: string[];
      workerNodes?: string[];
      k8sEndpoint?: string;
    }) => {
      const waitMs = parseDuration(opts.waitTimeout);
      return withTargets(cmd, io, async ({ flags, targets, signal: interrupt }) => {
        if (targets.nodes.length > 1)
          throw new Error(
            `health runs on one control-plane node, not ${targets.nodes.length}: pass one -n`,
          );
        const print = streamPrinter<{ node: string; message: string }>(flags.output, io, []);
        const results = await targets.each(async (client, node, signal) => {
          const label = nodeLabel(client, node);
          const stream = client.services(node).cluster.healthCheck(
            {
              waitTimeout: {
                seconds: BigInt(Math.floor(waitMs / 1000)),
                nanos: (waitMs % 1000) * 1e6,
              },
              clusterInfo: {
                controlPlaneNodes: opts.controlPlaneNodes ?? [],
                workerNodes: opts.workerNodes ?? [],
                forceEndpoint: opts.k8sEndpoint ?? "",
              },
            },
            // The server gives up at the wait timeout; the call a little after it.
            { signal, timeoutMs: waitMs + 30_000 },
          );
          for await (const msg of stream) {
            if (msg.metadata?.error) throw new Error(msg.metadata.error);
            if (flags.output === "table") io.stdout(`${msg.message}\n`);
            else print({ node: label, message: msg.message });
          }
        });
        reportNodes(results, io, interrupt);
      });
    },
  );
}
