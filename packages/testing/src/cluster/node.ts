// One simulated Talos node: its machine and the gRPC server that serves it,
// wired together. The simulator and the router hold nodes; services never do.
import type { NodeFaults } from "./faults.js";
import { type NodeTls, SimMachine } from "./machine.js";
import { NodeServer } from "./node-server.js";
import { SERVED_SERVICES } from "./services/availability.js";
import { serviceImpls } from "./services/index.js";
import type { SimNodeState } from "./state.js";
import type { SimUploads } from "./uploads.js";

/** Options to construct a simulated node. */
export interface SimNodeInit {
  address: string;
  state: SimNodeState;
  tls: NodeTls;
  maintenanceFingerprint?: string;
  rebootDelayMs: () => number;
}

/** One simulated Talos node: a real grpc-js server on 127.0.0.1 with its machine. */
export class SimNodeImpl {
  readonly machine: SimMachine;
  /** SPKI fingerprint (base64 SHA-256) of the maintenance certificate, when in maintenance mode. */
  readonly maintenanceFingerprint?: string;
  private readonly server: NodeServer;

  constructor(init: SimNodeInit) {
    this.machine = new SimMachine(init);
    this.maintenanceFingerprint = init.maintenanceFingerprint;
    this.server = new NodeServer(this.machine, SERVED_SERVICES, serviceImpls(this.machine));
    this.machine.onDown(() => this.server.cutStreams("connection closed: node is rebooting"));
  }

  get address(): string {
    return this.machine.address;
  }

  get state(): SimNodeState {
    return this.machine.state;
  }

  get faults(): NodeFaults {
    return this.machine.faults;
  }

  /** `127.0.0.1:<port>` of this node's own gRPC server. */
  get endpoint(): string {
    return this.server.endpoint;
  }

  /** Whether the node is down (rebooting or never came back). */
  get isDown(): boolean {
    return this.machine.isDown;
  }

  /** Total bytes sent on server streams. */
  get bytesSent(): number {
    return this.server.bytesSent;
  }

  /** Calls addressed to this node per RPC, refused ones included. */
  get calls(): ReadonlyMap<string, number> {
    return this.server.calls;
  }

  /** Server streams open on this node, per RPC. */
  get serverStreams(): NodeServer["serverStreams"] {
    return this.server.serverStreams;
  }

  /** What the node received by client-streaming uploads. */
  get uploads(): SimUploads {
    return this.machine.uploads.snapshot();
  }

  /** The nodes of this node's cluster (for etcd membership, discovery and health). */
  joinCluster(nodes: () => SimNodeImpl[]): void {
    this.machine.peers = () => nodes().map((n) => n.machine);
  }

  /** Re-read state after a test changed it: bumps resource versions and notifies watchers. */
  touch(): void {
    this.machine.touch();
  }

  /** Count a call addressed to this node (the router counts the ones it forwards or refuses). */
  countCall(path: string): void {
    this.server.countCall(path);
  }

  start(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** End all open streams with Unavailable (used by the unreachable fault). */
  stopStreams(): void {
    this.server.cutStreams("connection reset: node unreachable");
  }

  reboot(actorId: string): void {
    this.machine.reboot(actorId);
  }

  nextBoot(timeoutMs: number): Promise<void> {
    return this.machine.nextBoot(timeoutMs);
  }

  powerOn(): void {
    this.machine.powerOn();
  }
}
