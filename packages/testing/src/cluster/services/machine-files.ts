// MachineService's file downloads: Read of one file (the node's files plus the
// synthetic boot id and large file) and Copy of a tree as a gzipped tar.
import * as grpc from "@grpc/grpc-js";
import { status } from "../grpc.js";
import type { CallContext, Impls, Send, ServerStreamImpl } from "../handlers.js";
import type { SimNodeState } from "../state.js";
import { tarGz } from "../tar.js";
import { sendData } from "./shared.js";

const { status: S } = grpc;
const M = "/machine.MachineService/";

/** What the file calls read of a node. */
export interface FilesHost {
  readonly state: SimNodeState;
}

/** Read and Copy. */
export function filesImpls({ state: st }: FilesHost): Impls {
  return {
    [`${M}Read`]: (async (req: { path: string }, ctx: CallContext, send: Send) => {
      if (req.path === "/proc/sys/kernel/random/boot_id")
        return sendData(Buffer.from(`${st.bootId}\n`), send);
      if (req.path === "/sim/large") {
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
        let left = st.largeFileSize;
        while (left > 0 && !ctx.signal.aborted) {
          const n = Math.min(left, chunk.length);
          await send({ bytes: n === chunk.length ? chunk : chunk.subarray(0, n) });
          left -= n;
        }
        return;
      }
      const f = st.files.get(req.path);
      if (f === undefined) throw status(S.NOT_FOUND, `open ${req.path}: no such file or directory`);
      await sendData(typeof f === "string" ? Buffer.from(f) : f, send);
    }) as ServerStreamImpl,
    [`${M}Copy`]: (async (req: { rootPath: string }, _ctx: CallContext, send: Send) => {
      const root = req.rootPath.replace(/\/+$/, "");
      const files = [...st.files].filter(([p]) => p === root || p.startsWith(`${root}/`));
      if (files.length === 0)
        throw status(S.NOT_FOUND, `lstat ${req.rootPath}: no such file or directory`);
      const base = root.slice(0, root.lastIndexOf("/") + 1);
      // Like Talos's archiver, each directory comes before what it holds.
      const dirs = new Set<string>();
      for (const [p] of files)
        for (let at = p.indexOf("/", base.length); at > 0; at = p.indexOf("/", at + 1))
          dirs.add(p.slice(base.length, at));
      const tgz = tarGz([
        ...[...dirs].sort().map((name) => ({ name, data: new Uint8Array(), dir: true })),
        ...files.map(([p, d]) => ({
          name: p.slice(base.length),
          data: typeof d === "string" ? Buffer.from(d) : d,
        })),
      ]);
      await sendData(tgz, send, 32 * 1024);
    }) as ServerStreamImpl,
  };
}
