// MachineService calls that describe the machine: version, hostname, services
// and memory.
import type { Impls } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { timestamp } from "../util.js";

const M = "/machine.MachineService/";

/** What these calls read of a node. */
export interface SystemHost {
  readonly state: SimNodeState;
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
      messages: [
        {
          services: st.services.map((s) => ({
            id: s.id,
            state: s.state,
            events: { events: [{ msg: "Service started", state: s.state, ts: timestamp() }] },
            health: {
              unknown: false,
              healthy: s.healthy,
              lastMessage: "",
              lastChange: timestamp(),
            },
          })),
        },
      ],
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
