/** One line of `nsnet monitor` per kernel event, in the words of `ip monitor`. */
import type { RtnlEvent } from '../rtnl/events';

const present = (pairs: [string, unknown][]): string =>
  pairs
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([key, value]) => (value === true ? key : `${key} ${String(value)}`))
    .join(' ');

export function eventLine(event: RtnlEvent): string {
  if (event.type === 'overrun') return 'overrun: the kernel dropped events (the reader fell behind); list again for the current state';
  const head = `${event.type} ${event.action === 'new' ? 'new' : 'deleted'}`;
  switch (event.type) {
    case 'link':
      return `${head} ${event.index}: ${event.name} ${present([
        ['kind', event.kind], ['mtu', event.mtu], ['mac', event.mac], ['master', event.master], ['up', event.up], ['state', event.operState],
      ])}`;
    case 'address':
      return `${head} ${event.cidr} dev ${event.dev}`;
    case 'route':
      return `${head} ${event.routeType === 'unicast' ? '' : `${event.routeType} `}${event.dst} ${present([
        ['via', event.gateway], ['dev', event.dev], ['table', event.table], ['scope', event.scope], ['metric', event.metric], ['src', event.src],
      ])}`;
    case 'neighbour':
      if (event.family === 'bridge') {
        return `${head} fdb ${event.mac} ${present([
          ['dev', event.dev], ['dst', event.dst], ['vlan', event.vlan], ['master', event.master], ['self', event.self], ['state', event.state],
        ])}`;
      }
      return `${head} ${event.address} ${present([['dev', event.dev], ['lladdr', event.mac], ['router', event.router], ['state', event.state]])}`;
    default:
      return JSON.stringify(event);
  }
}
