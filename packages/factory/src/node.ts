// Node-only helpers: download an asset to a file. Kept apart from the
// portable entry point so that Deno and browsers never load node: modules.
import { open, rename, stat, unlink } from "node:fs/promises";
import type { DownloadOptions, DownloadResult, FactoryClient } from "./client.js";

export interface DownloadToFileOptions extends DownloadOptions {
  /** Continue a previous `<path>.part` with a Range request (true by default). */
  resume?: boolean;
  /** Keep `<path>.part` after a failure so a later call can resume (true by default). */
  keepPartial?: boolean;
}

/**
 * Downloads `url` to `path`. Bytes go to `<path>.part` and the file takes its
 * final name only once complete and of the right size, so a failed or
 * interrupted download never leaves a truncated file under `path`.
 */
export async function downloadToFile(
  client: FactoryClient,
  url: string,
  path: string,
  options: DownloadToFileOptions = {},
): Promise<DownloadResult & { path: string }> {
  const part = `${path}.part`;
  let offset = 0;
  if (options.resume !== false)
    offset = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
  const handle = await open(part, offset > 0 ? "r+" : "w");
  let position = offset;
  let ok = false;
  try {
    const result = await client.download(
      url,
      async (chunk) => {
        await handle.write(chunk, 0, chunk.byteLength, position);
        position += chunk.byteLength;
      },
      {
        ...options,
        offset,
        onStart: async (info) => {
          if (!info.resumed) {
            await handle.truncate(0);
            position = 0;
          }
          await options.onStart?.(info);
        },
      },
    );
    await handle.truncate(position);
    await handle.close();
    await rename(part, path);
    ok = true;
    return { ...result, path };
  } finally {
    if (!ok) {
      await handle.close().catch(() => {});
      if (options.keepPartial === false) await unlink(part).catch(() => {});
    }
  }
}
