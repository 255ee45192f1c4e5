/**
 * `nsnet demo`, inside its own sandbox: a network, two containers (one serving
 * HTTP with node), a published port and a `wan` namespace; traffic container
 * to container, wan to the published port, container to wan (masqueraded);
 * the topology; with `shell`, a shell in that world; then everything removed.
 */
import type { ChildProcess } from 'node:child_process';

import { setupContainer, teardownContainer } from '../../network/containers';
import { createBridgeNetwork, removeNetwork } from '../../network/network';
import { NetNamespace } from '../../netns';
import { formatPort } from '../output';
import { readTopology } from '../topology/model';
import { topologyText } from '../topology/text';
import { helloServer, httpGet, runIn, startServer, stopServer, tcpRead, whoAmIServer } from './programs';
import { runShell } from './shell';
import { createWan, HOST_ADDRESS, removeWan, WAN_ADDRESS } from './wan';

const say = (line: string) => process.stdout.write(line + '\n');

export async function runDemo(options: { shell?: boolean } = {}): Promise<void> {
  say(`nsnet demo: in a sandbox network namespace that plays the host (netns inode ${NetNamespace.host().inode})`);
  const cleanup: (() => Promise<unknown>)[] = [];
  const servers: ChildProcess[] = [];
  try {
    const wan = await createWan();
    cleanup.push(() => removeWan(wan));
    say(`wan namespace at ${WAN_ADDRESS}, the host's default route; the host is ${HOST_ADDRESS} on it`);
    servers.push(await startServer(wan, whoAmIServer(WAN_ADDRESS, 9000)));

    const net = await createBridgeNetwork({ name: 'demo' });
    cleanup.push(() => removeNetwork('demo', { force: true }));
    say(`network demo: bridge ${net.bridge}, subnet ${net.subnet}, gateway ${net.gateway}, firewall ${net.options.activeFirewall}`);

    const web = await setupContainer('web', { network: 'demo', publish: ['8080:80'] });
    cleanup.push(() => teardownContainer('web'));
    const webIp = web.endpoint?.ipv4 as string;
    say(`container web:    ${webIp}, published ${web.endpoint?.ports.map(formatPort).join(', ')}`);
    servers.push(await startServer(web.netns, helloServer('web', 80)));
    say('                  serving HTTP on port 80 (node)');

    const client = await setupContainer('client', { network: 'demo' });
    cleanup.push(() => teardownContainer('client'));
    say(`container client: ${client.endpoint?.ipv4}`);

    say('');
    const traffic = (path: string, result: string) => say(`${path.padEnd(48)} ${result}`);
    traffic(`client -> web ${webIp}:80`, await runIn(client.netns, httpGet(`http://${webIp}/`)));
    traffic(`wan -> host ${HOST_ADDRESS}:8080 (published)`, await runIn(wan, httpGet(`http://${HOST_ADDRESS}:8080/`)));
    traffic('host -> 127.0.0.1:8080 (published)', await runIn(NetNamespace.host(), httpGet('http://127.0.0.1:8080/')));
    traffic(`client -> wan ${WAN_ADDRESS}:9000 (masquerade)`, await runIn(client.netns, tcpRead(WAN_ADDRESS, 9000)));
    say('');
    process.stdout.write(topologyText(await readTopology()));
    say('');
    if (options.shell) {
      say("a shell in the demo's world, on its host; exit it to remove it all. Try:");
      const hints = [
        [`ip netns exec wan wget -qO- http://${HOST_ADDRESS}:8080/`, 'the published port, from wan (or curl -s URL)'],
        [`ip netns exec client wget -qO- http://${webIp}/`, 'web, from the client container'],
        ['nsnet ps; nsnet topology; nsnet network inspect demo', 'what nsnet knows of it'],
      ];
      for (const [command, what] of hints) say(`  ${command.padEnd(52)}   ${what}`);
      await runShell();
      say('');
    }
  } finally {
    await Promise.all(servers.map(stopServer));
    for (const undo of cleanup.reverse()) await undo();
  }
  say('cleaned up: containers torn down, network and wan removed');
}
