// What a node received by client-streaming uploads (EtcdRecover,
// ImageService.Import): a checksum of each upload that completed, and nothing
// kept of one that was cut off.
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { status } from "./grpc.js";

/** One upload that reached its end and was applied on the node. */
export interface SimUpload {
  rpc: "EtcdRecover" | "Import";
  bytes: number;
  /** Hex SHA-256 of the uploaded bytes. */
  sha256: string;
  /** The image name reported by Import. */
  image?: string;
}

/** Uploads seen by a node. */
export interface SimUploads {
  /** Uploads that completed and were applied, in order. */
  readonly completed: readonly SimUpload[];
  /** Bytes received so far by all uploads, including unfinished and cancelled ones. */
  readonly bytesReceived: number;
  /** Uploads that started but were cancelled or failed: nothing of them was kept. */
  readonly discarded: number;
}

/** The uploads of one node. */
export class UploadLog {
  private readonly completed: SimUpload[] = [];
  private bytesReceived = 0;
  private discarded = 0;

  /** A copy of what was received so far. */
  snapshot(): SimUploads {
    return {
      completed: [...this.completed],
      bytesReceived: this.bytesReceived,
      discarded: this.discarded,
    };
  }

  /** Records an upload that was applied. */
  complete(upload: SimUpload): void {
    this.completed.push(upload);
  }

  /**
   * Reads an upload to its end. Only a stream that ended normally while the
   * call is still alive counts: a cancelled call throws, so the caller applies
   * nothing.
   */
  async receive(
    signal: AbortSignal,
    messages: AsyncIterable<Uint8Array | undefined>,
  ): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash("sha256");
    let bytes = 0;
    try {
      for await (const chunk of messages) {
        if (signal.aborted) break;
        if (!chunk) continue;
        hash.update(chunk);
        bytes += chunk.length;
        this.bytesReceived += chunk.length;
      }
      // grpc-js may end the request stream before it reports the cancellation.
      await new Promise((r) => setImmediate(r));
      if (signal.aborted) throw status(grpc.status.CANCELLED, "upload cancelled by the client");
    } catch (err) {
      this.discarded++;
      throw err;
    }
    return { bytes, sha256: hash.digest("hex") };
  }
}
