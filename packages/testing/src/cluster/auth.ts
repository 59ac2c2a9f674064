// Who may call what: the roles a caller gets from its client certificate (or,
// behind the router, from the impersonated roles it forwards) and the role
// table of the Talos API. Checks that depend on the request or on maintenance
// mode stay in the handlers.
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { status } from "./grpc.js";

const { status: S } = grpc;
const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

const ADMIN = ["os:admin"];
const OPERATOR = ["os:admin", "os:operator"];
const READER = ["os:admin", "os:operator", "os:reader"];

/** Roles allowed to call a method (per the Talos role table; maintenance-only exceptions are checked in handlers). */
export function allowedRoles(service: string, method: string): string[] {
  const full = `${service}/${method}`;
  if (service === "cosi.resource.State")
    return ["Get", "List", "Watch"].includes(method) ? READER : ADMIN;
  if (service === "machine.LifecycleService" || service === "machine.DebugService") return ADMIN;
  if (service === "machine.ImageService") {
    if (method === "Pull") return OPERATOR;
    if (method === "List") return READER;
    if (method === "Verify") return [...READER, "os:image:verifier"];
    return ADMIN;
  }
  if (service === "machine.LVMService" || service === "machine.MDService") return READER;
  switch (full) {
    case "machine.MachineService/ApplyConfiguration":
      return READER; // reader accepted only in maintenance, checked in the handler
    case "machine.MachineService/Read":
    case "machine.MachineService/Copy":
    case "machine.MachineService/Kubeconfig":
    case "machine.MachineService/Reset":
    case "machine.MachineService/Upgrade":
    case "machine.MachineService/Rollback":
    case "machine.MachineService/Bootstrap":
    case "machine.MachineService/EtcdRecover":
    case "machine.MachineService/EtcdRemoveMemberByID":
    case "machine.MachineService/EtcdLeaveCluster":
    case "machine.MachineService/GenerateClientConfiguration":
    case "machine.MachineService/MetaDelete":
    case "machine.MachineService/EtcdDowngradeEnable":
    case "machine.MachineService/EtcdDowngradeCancel":
      return ADMIN;
    case "machine.MachineService/MetaWrite":
      return [...ADMIN, "os:meta:writer"];
    case "machine.MachineService/EtcdSnapshot":
      return [...ADMIN, "os:etcd:backup"];
    case "machine.MachineService/Reboot":
    case "machine.MachineService/Shutdown":
    case "machine.MachineService/ServiceStart":
    case "machine.MachineService/ServiceStop":
    case "machine.MachineService/ServiceRestart":
    case "machine.MachineService/PacketCapture":
    case "machine.MachineService/ImagePull":
    case "machine.MachineService/EtcdForfeitLeadership":
    case "machine.MachineService/EtcdDefragment":
    case "machine.MachineService/EtcdAlarmDisarm":
      return OPERATOR;
    default:
      return READER;
  }
}

/** The roles (Organization) of a client certificate, which must be for client auth only, as apid demands. */
export function certificateRoles(cert: PeerCertificate | undefined): string[] {
  const eku = (cert as { ext_key_usage?: string[] } | undefined)?.ext_key_usage ?? [];
  if (!cert || eku.length !== 1 || eku[0] !== OID_CLIENT_AUTH)
    throw status(
      S.UNAUTHENTICATED,
      "client certificate must have exactly the clientAuth extended key usage",
    );
  const o = cert.subject?.O;
  return Array.isArray(o) ? o : o ? [o] : [];
}

/** The parts of an incoming call that carry the caller's identity. */
export interface AuthenticatedCall {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/**
 * The caller's roles on a node. Without mutual TLS (maintenance) everyone is a
 * reader; an impersonator (the router) speaks for the roles it forwards.
 */
export function callerRoles(call: AuthenticatedCall, mutualTls: boolean): Set<string> {
  if (!mutualTls) return new Set(["os:reader"]);
  const cert = call.getAuthContext().sslPeerCertificate;
  if (!cert) throw status(S.UNAUTHENTICATED, "client certificate required");
  const orgs = new Set(certificateRoles(cert));
  if (orgs.has("os:impersonator") && call.metadata.get("proxyfrom").length > 0) {
    return new Set(
      call.metadata
        .get("talos-role")
        .map(String)
        .flatMap((r) => r.split(","))
        .map((r) => r.trim())
        .filter(Boolean),
    );
  }
  return orgs;
}

/** Refuses a caller whose roles the role table does not allow for the method. */
export function authorize(roles: Set<string>, service: string, method: string): void {
  if (!allowedRoles(service, method).some((r) => roles.has(r)))
    throw status(S.PERMISSION_DENIED, "not authorized");
}
