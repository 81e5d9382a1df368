/** A Writable that keeps everything written to it, for checking what a command printed. */
import { Writable } from "node:stream";

export interface Sink {
  stream: Writable;
  text(): string;
  bytes(): number;
}

export function sink(): Sink {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString(),
    bytes: () => chunks.reduce((n, c) => n + c.length, 0),
  };
}
