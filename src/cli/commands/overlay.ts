/** `nsnet overlay serve NAME` (hidden): an overlay network's agent, started on demand by the library. */
import { Command } from 'commander';

export function overlayCommand(): Command {
  const overlay = new Command('overlay').description("an overlay network's agent on this host (started by nsnet itself)");
  overlay
    .command('serve')
    .description("keep this host's lease and keys in the network's store and its forwarding entries in step with it (runs until SIGTERM)")
    .argument('<name>', 'the overlay network')
    .action(async (name: string) => {
      const { runOverlayAgent } = require('../../network/overlay-agent-main') as typeof import('../../network/overlay-agent-main');
      await runOverlayAgent(name);
    });
  return overlay;
}
