// MachineService calls that describe the machine: version, hostname, services
// and memory.
import type { Impls } from "../handlers.js";
import type { SimNodeState, SimService } from "../state.js";
import { timestamp } from "../util.js";

const M = "/machine.MachineService/";

/** What these calls read of a node. */
export interface SystemHost {
  readonly state: SimNodeState;
}

/**
 * A service as machined lists it: the runner's events (preparing, then
 * running as a task, or as a goroutine for machined itself), then the health
 * check's verdict; machined has no health check, so its health is unknown.
 */
function serviceInfo(s: SimService, pid: number) {
  const now = timestamp();
  const goroutine = s.id === "machined";
  const events = [
    { msg: "Running pre state", state: "Preparing" },
    { msg: "Creating service runner", state: "Preparing" },
    {
      msg: goroutine
        ? "Service started as goroutine"
        : `Started task ${s.id} (PID ${pid}) for container ${s.id}`,
      state: "Running",
    },
  ];
  if (!goroutine && s.state === "Running")
    events.push({
      msg: s.healthy ? "Health check successful" : "Health check failed: not ready",
      state: "Running",
    });
  if (s.state !== "Running")
    events.push({ msg: `Service ${s.state.toLowerCase()}`, state: s.state });
  return {
    id: s.id,
    state: s.state,
    events: { events: events.map((e) => ({ ...e, ts: now })) },
    health: {
      unknown: goroutine,
      healthy: !goroutine && s.healthy,
      lastMessage: goroutine || s.healthy ? "" : "not ready",
      lastChange: now,
    },
  };
}

/** Version, Hostname, ServiceList and Memory. */
export function systemImpls({ state: st }: SystemHost): Impls {
  return {
    [`${M}Version`]: () => ({
      messages: [
        {
          version: {
            tag: st.version,
            sha: st.sha,
            built: "2026-08-01T00:00:00Z",
            goVersion: "go1.25.1",
            os: "linux",
            arch: st.arch,
          },
          platform: { name: st.platform, mode: st.platform === "metal" ? "metal" : "cloud" },
          features: { rbac: true },
        },
      ],
    }),
    [`${M}Hostname`]: () => ({ messages: [{ hostname: st.hostname }] }),
    [`${M}ServiceList`]: () => ({
      messages: [{ services: st.services.map((s, i) => serviceInfo(s, 1000 + i * 17)) }],
    }),
    [`${M}Memory`]: () => {
      const totalKiB = BigInt(st.profile.memoryModules.reduce((a, m) => a + m.sizeMiB, 0) * 1024);
      return {
        messages: [
          {
            meminfo: {
              memtotal: totalKiB,
              memfree: totalKiB / 2n,
              memavailable: (totalKiB * 3n) / 4n,
              buffers: 1024n,
              cached: totalKiB / 8n,
            },
          },
        ],
      };
    },
  };
}
