// The simulated machine behind one node: its identity, mutable state, resources,
// events, faults and uploads, and the boot cycle (reboot, power-on, stages).
// Services read and change it; the node's gRPC server only learns when it goes
// down, to cut the open calls.
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import {
  MachineStatusEvent_MachineStage,
  MachineStatusEventSchema,
  PhaseEventSchema,
  SequenceEventSchema,
  ServiceStateEvent_Action,
  ServiceStateEventSchema,
  TaskEventSchema,
} from "@taloskit/api/machine";
import { EventLog } from "./events.js";
import { type NodeFaults, noFaults } from "./faults.js";
import { ResourceStore } from "./resources.js";
import type { SimNodeState } from "./state.js";
import { UploadLog } from "./uploads.js";
import { sleep } from "./util.js";

/** TLS identity of a node. */
export interface NodeTls {
  /** PEM CA that client certificates must chain to (absent in maintenance). */
  caPem?: string;
  certPem: string;
  keyPem: string;
}

/** Options to construct a simulated machine. */
export interface SimMachineInit {
  address: string;
  state: SimNodeState;
  tls: NodeTls;
  rebootDelayMs: () => number;
}

const STAGES: Record<SimNodeState["stage"], MachineStatusEvent_MachineStage> = {
  unknown: MachineStatusEvent_MachineStage.UNKNOWN,
  booting: MachineStatusEvent_MachineStage.BOOTING,
  installing: MachineStatusEvent_MachineStage.INSTALLING,
  maintenance: MachineStatusEvent_MachineStage.MAINTENANCE,
  running: MachineStatusEvent_MachineStage.RUNNING,
  rebooting: MachineStatusEvent_MachineStage.REBOOTING,
  "shutting down": MachineStatusEvent_MachineStage.SHUTTING_DOWN,
  resetting: MachineStatusEvent_MachineStage.RESETTING,
  upgrading: MachineStatusEvent_MachineStage.UPGRADING,
};

/** One simulated Talos machine. */
export class SimMachine {
  readonly address: string;
  readonly state: SimNodeState;
  readonly tls: NodeTls;
  readonly resources: ResourceStore;
  readonly faults: NodeFaults = noFaults();
  readonly events = new EventLog();
  readonly uploads = new UploadLog();
  /** The machines of the cluster, this one included (set by the simulator). */
  peers: () => SimMachine[] = () => [this];
  /** Whether an installation runs: one at a time, as the installer allows. */
  upgrading = false;
  /** Pending roll-back of an ApplyConfiguration in TRY mode. */
  tryRollback: NodeJS.Timeout | undefined;
  /** Emits "down" when the machine goes down and "up" each time it comes back. */
  private readonly lifecycle = new EventEmitter();
  private down = false;
  private booted = Date.now();
  private readonly rebootDelayMs: () => number;

  constructor(init: SimMachineInit) {
    this.address = init.address;
    this.state = init.state;
    this.tls = init.tls;
    this.rebootDelayMs = init.rebootDelayMs;
    this.resources = new ResourceStore(
      () => this.state,
      () => ({
        address: this.address,
        peers: this.peers().map((p) => ({ address: p.address, state: p.state })),
      }),
    );
    this.resources.refresh();
    this.bootEvents();
  }

  /** Whether the machine is down (rebooting or never came back). */
  get isDown(): boolean {
    return this.down;
  }

  /** Wall-clock time (ms) of the current boot: kernel record timestamps count from it. */
  get bootedAt(): number {
    return this.booted;
  }

  /** Re-read state after it changed: bumps resource versions and notifies watchers. */
  touch(): void {
    this.resources.refresh();
  }

  /** Calls `listener` each time the machine goes down. */
  onDown(listener: () => void): void {
    this.lifecycle.on("down", listener);
  }

  /** Moves to a stage and tells event watchers. */
  setStage(stage: SimNodeState["stage"], ready: boolean, actorId = ""): void {
    this.state.stage = stage;
    this.state.ready = ready;
    this.resources.refresh();
    this.machineStatusEvent(actorId);
  }

  /** Reboot: events, connections drop, the machine comes back after the reboot delay with a new boot ID (and a pending upgrade applied). */
  reboot(actorId: string, sequence = "reboot"): void {
    // A node stuck before it goes down: the call was acknowledged, nothing happens.
    if (this.faults.ignoreReboots) return;
    void (async () => {
      this.events.publish(SequenceEventSchema, { sequence, action: 1 }, actorId);
      this.events.publish(TaskEventSchema, { task: "stopAllServices", action: 0 }, actorId);
      this.setStage("rebooting", false, actorId);
      await sleep(30);
      this.down = true;
      this.lifecycle.emit("down");
      await sleep(this.rebootDelayMs());
      if (this.faults.neverReturn) return;
      const up = this.state.pendingUpgrade;
      if (up) {
        if (up.version) this.state.version = up.version;
        if (up.schematic) this.state.schematic = up.schematic;
        // The installer's platform is on the kernel command line it writes.
        if (up.platform) this.state.platform = up.platform;
        this.state.bootedInstallers.push(up.image);
        this.state.pendingUpgrade = undefined;
      }
      if (this.state.stagedConfig) {
        this.state.config = this.state.stagedConfig;
        this.state.stagedConfig = undefined;
      }
      this.state.boots++;
      this.comeUp();
    })();
  }

  /** Shutdown: events, stage "shutting down", connections drop, and the machine stays down until powered on. */
  shutdown(actorId: string, sequence = "shutdown"): void {
    void (async () => {
      this.events.publish(SequenceEventSchema, { sequence, action: 1 }, actorId);
      this.events.publish(TaskEventSchema, { task: "stopAllServices", action: 0 }, actorId);
      this.setStage("shutting down", false, actorId);
      await sleep(30);
      this.state.poweredOff = true;
      this.down = true;
      this.lifecycle.emit("down");
    })();
  }

  /** Resolves when the machine next goes down (a reboot, shutdown or reset); rejects after `timeoutMs`. */
  async nextDown(timeoutMs: number): Promise<void> {
    await once(this.lifecycle, "down", { signal: AbortSignal.timeout(timeoutMs) });
  }

  /** Resolves when the machine next comes up (after a reboot or power-on); rejects after `timeoutMs`. */
  async nextBoot(timeoutMs: number): Promise<void> {
    await once(this.lifecycle, "up", { signal: AbortSignal.timeout(timeoutMs) });
  }

  /** Bring a machine that never returned back up (after `neverReturn` was cleared). */
  powerOn(): void {
    if (!this.down) return;
    this.faults.neverReturn = false;
    this.state.poweredOff = false;
    this.comeUp();
  }

  private comeUp(): void {
    this.state.bootId = randomUUID();
    this.booted = Date.now();
    this.state.stage = this.state.maintenance ? "maintenance" : "running";
    this.state.ready = true;
    this.down = false;
    this.resources.refresh();
    this.bootEvents();
    this.lifecycle.emit("up");
  }

  private machineStatusEvent(actorId = ""): void {
    this.events.publish(
      MachineStatusEventSchema,
      {
        stage: STAGES[this.state.stage],
        status: { ready: this.state.ready, unmetConditions: this.state.unmetConditions },
      },
      actorId,
    );
  }

  private bootEvents(): void {
    const ev = this.events;
    ev.clear();
    ev.publish(SequenceEventSchema, { sequence: "boot", action: 1 });
    ev.publish(PhaseEventSchema, { phase: "startEverything", action: 0 });
    for (const s of this.state.services) {
      ev.publish(ServiceStateEventSchema, {
        service: s.id,
        action: ServiceStateEvent_Action.RUNNING,
        message: "Service started as goroutine",
        health: { unknown: false, healthy: s.healthy },
      });
    }
    ev.publish(PhaseEventSchema, { phase: "startEverything", action: 1 });
    ev.publish(SequenceEventSchema, { sequence: "boot", action: 2 });
    this.machineStatusEvent();
  }
}
