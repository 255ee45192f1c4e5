/**
 * How the nsnet command ends. Into a pipe, Node writes stdout
 * asynchronously (the kernel takes 64 KB at a time), and process.exit()
 * drops whatever is still queued: the command exits only once both streams
 * have written everything. A reader that went away (`nsnet ps | head -1`)
 * ends it at once and quietly, with the status a shell shows for a tool
 * that SIGPIPE ended (128 + 13), as `yes | head -1` does.
 */
const CLOSED_PIPE_STATUS = 128 + 13;

const streams = () => [process.stdout, process.stderr];

/** A write to a closed pipe ends the process quietly instead of as an uncaught EPIPE. */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of streams()) stream.on('error', endIfClosedPipe);
}

function endIfClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
  process.exit(CLOSED_PIPE_STATUS);
}

/** Exits with `status` once stdout and stderr have written all they hold. */
export function exitWhenWritten(status: number): void {
  let pending = streams().length;
  // A write's callback runs once it and every write before it are done, or failed.
  for (const stream of streams()) {
    stream.write('', (error) => {
      if (error) endIfClosedPipe(error);
      else if (--pending === 0) process.exit(status);
    });
  }
}
