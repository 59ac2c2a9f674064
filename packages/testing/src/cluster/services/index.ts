// Every service a simulated node serves, and their implementations put
// together for one node. Each module sees the node only through its own
// narrow host interface; a node's machine satisfies all of them.
import type { Impls } from "../handlers.js";
import { clusterImpls, type HealthPeer } from "./cluster-health.js";
import { type StateHost, stateImpls } from "./cosi-state.js";
import { type DebugHost, debugImpls } from "./debug.js";
import { type ImageHost, imageImpls } from "./image.js";
import { type InspectHost, inspectImpls } from "./inspect.js";
import { type InstallHost, installImpls } from "./lifecycle.js";
import { type VolumesHost, volumeImpls } from "./lvm-md.js";
import { type ConfigHost, configImpls } from "./machine-config.js";
import { type EtcdHost, etcdImpls } from "./machine-etcd.js";
import { type EventsHost, eventsImpls } from "./machine-events.js";
import { type FilesHost, filesImpls } from "./machine-files.js";
import { type MachineInspectHost, machineInspectImpls } from "./machine-inspect.js";
import { type LifecycleHost, lifecycleImpls } from "./machine-lifecycle.js";
import { type LogsHost, logsImpls } from "./machine-logs.js";
import { type ServiceControlHost, serviceControlImpls } from "./machine-service-control.js";
import { type SystemHost, systemImpls } from "./machine-system.js";
import { type StorageHost, storageImpls } from "./storage.js";
import { timeImpls } from "./time.js";

/** Everything the services use of a node. */
export type ServiceHost = SystemHost &
  LogsHost &
  ServiceControlHost &
  FilesHost &
  MachineInspectHost &
  EtcdHost &
  ConfigHost &
  LifecycleHost &
  EventsHost &
  ImageHost &
  InstallHost &
  StateHost &
  StorageHost &
  InspectHost &
  HealthPeer &
  DebugHost &
  VolumesHost;

/** The implementations of every served method for one node, keyed by gRPC path. */
export function serviceImpls(node: ServiceHost): Impls {
  return {
    ...systemImpls(node),
    ...logsImpls(node),
    ...serviceControlImpls(node),
    ...filesImpls(node),
    ...machineInspectImpls(node),
    ...etcdImpls(node),
    ...configImpls(node),
    ...lifecycleImpls(node),
    ...eventsImpls(node),
    ...imageImpls(node),
    ...installImpls(node),
    ...stateImpls(node),
    ...timeImpls(),
    ...storageImpls(node),
    ...inspectImpls(node),
    ...clusterImpls(node),
    ...debugImpls(node),
    ...volumeImpls(node),
  };
}
