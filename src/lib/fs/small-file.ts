/**
 * A small file of ona's own (settings, a state file, a lock, ona's key id) read in one call: the
 * promise-based readFile makes four trips through libuv's thread pool (open, stat, read, close), which
 * a no-op `ona ssh-sync` paid a dozen times over. Only for files of a few KiB on the local disk that ona
 * writes itself; the user's SSH config is read as before. Errors are the same as readFile's, as rejections.
 */
import {readFileSync} from 'node:fs'

export async function readSmallFile(file: string, encoding: BufferEncoding): Promise<string> {
  return readFileSync(file, encoding)
}
