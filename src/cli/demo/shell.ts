/** `nsnet demo --shell`: an interactive shell in the demo's world, before it is removed. */
import { spawn } from 'node:child_process';

/**
 * Runs the user's shell ($SHELL, else /bin/sh) with the terminal, and resolves
 * once it exits. Meanwhile, as system(3) does, the demo ignores SIGINT and
 * SIGQUIT: a Ctrl-C typed in the shell is the shell's, not the demo's.
 */
export async function runShell(): Promise<void> {
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  try {
    const shell = spawn(process.env.SHELL || '/bin/sh', [], { stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      shell.on('error', reject);
      shell.on('exit', () => resolve());
    });
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  }
}
