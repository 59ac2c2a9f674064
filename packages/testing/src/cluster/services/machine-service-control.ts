// MachineService's service control: ServiceStart, ServiceStop and
// ServiceRestart of the node's system services, visible in ServiceList and
// as service state events.
import * as grpc from "@grpc/grpc-js";
import { ServiceStateEvent_Action, ServiceStateEventSchema } from "@taloskit/api/machine";
import type { EventLog } from "../events.js";
import { status } from "../grpc.js";
import type { Impls } from "../handlers.js";
import type { SimNodeState } from "../state.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";

/** What service control changes of a node. */
export interface ServiceControlHost {
  readonly state: SimNodeState;
  readonly events: Pick<EventLog, "publish">;
  touch(): void;
}

function find(st: SimNodeState, id: string) {
  const svc = st.services.find((s) => s.id === id);
  if (!svc) throw status(S.NOT_FOUND, `service ${JSON.stringify(id)} not defined`);
  return svc;
}

/** ServiceStart, ServiceStop and ServiceRestart. */
export function serviceControlImpls(node: ServiceControlHost): Impls {
  const st = node.state;
  const set = (id: string, running: boolean, message: string) => {
    const svc = find(st, id);
    svc.state = running ? "Running" : "Finished";
    svc.healthy = running;
    node.events.publish(ServiceStateEventSchema, {
      service: id,
      action: running ? ServiceStateEvent_Action.RUNNING : ServiceStateEvent_Action.FINISHED,
      message,
      health: { unknown: !running, healthy: running },
    });
    node.touch();
  };
  return {
    [`${M}ServiceStart`]: (req: { id: string }) => {
      const svc = find(st, req.id);
      if (svc.state === "Running")
        throw status(S.FAILED_PRECONDITION, `service ${JSON.stringify(req.id)} is already running`);
      set(req.id, true, "Service started");
      return { messages: [{ resp: `Service ${JSON.stringify(req.id)} started` }] };
    },
    [`${M}ServiceStop`]: (req: { id: string }) => {
      set(req.id, false, "Service finished successfully");
      return { messages: [{ resp: `Service ${JSON.stringify(req.id)} stopped` }] };
    },
    [`${M}ServiceRestart`]: (req: { id: string }) => {
      set(req.id, false, "Service finished successfully");
      set(req.id, true, "Service started");
      return { messages: [{ resp: `Service ${JSON.stringify(req.id)} restarted` }] };
    },
  };
}
