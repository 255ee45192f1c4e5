/** `nsnet stats`: containers' network traffic, as Docker's NET I/O column, with rates. */
import { Command } from 'commander';

import { readTraffic, type TrafficSample, type TrafficTarget, trafficTargets } from '../../network/traffic';
import { LiveScreen } from '../live-screen';
import { printJson, tableText } from '../output';
import { containerTraffic, TRAFFIC_HEADER, trafficRows } from '../traffic';

/** Between two refreshes, and between the two samples of --no-stream. */
const INTERVAL_MS = 1000;

export function statsCommand(): Command {
  return new Command('stats')
    .description("show containers' network traffic (received / sent, and bytes per second), refreshed every second")
    .argument('[id...]', 'container ids (default: every container)')
    .option('--no-stream', 'print once, with rates over one second, and exit')
    .option('--json', 'print JSON: one array, or with streaming one array per line and refresh')
    .action(async (ids: string[], options: { stream: boolean; json?: boolean }) => {
      const stop = new StopSignal();
      try {
        await (options.stream ? stream(ids, stop, options.json === true) : once(ids, stop, options.json === true));
      } finally {
        stop.dispose();
      }
    });
}

/** Two samples a second apart, printed once: a rate needs an interval, as Docker's --no-stream waits for one. */
async function once(ids: string[], stop: StopSignal, json: boolean): Promise<void> {
  const targets = await trafficTargets(ids);
  const first = await readTraffic(targets);
  if (await stop.within(INTERVAL_MS)) return;
  const entries = containerTraffic(targets, await readTraffic(targets), first);
  if (json) printJson(entries);
  else process.stdout.write(tableText(TRAFFIC_HEADER, trafficRows(entries)));
}

/**
 * A refresh every second until SIGINT or SIGTERM, the first at once (its
 * rates '-'). The containers are listed anew each time: every one that is
 * there, or those of `ids` that still are.
 */
async function stream(ids: string[], stop: StopSignal, json: boolean): Promise<void> {
  let targets = await trafficTargets(ids);
  const asked = new Set(ids);
  const screen = new LiveScreen();
  let previous: TrafficSample | undefined;
  try {
    while (!stop.stopped) {
      const sample = await readTraffic(targets);
      const entries = containerTraffic(targets, sample, previous);
      if (json) process.stdout.write(JSON.stringify(entries) + '\n');
      else screen.show(tableText(TRAFFIC_HEADER, trafficRows(entries)) + (process.stdout.isTTY ? '' : '\n'));
      previous = sample;
      if (await stop.within(INTERVAL_MS)) break;
      targets = stillThere(await trafficTargets([]), asked);
    }
  } finally {
    screen.close();
  }
}

/** Every target, or those asked for that are still there, in the order asked. */
function stillThere(targets: TrafficTarget[], asked: Set<string>): TrafficTarget[] {
  if (!asked.size) return targets;
  const byId = new Map(targets.map((t) => [t.id, t]));
  return [...asked].flatMap((id) => byId.get(id) ?? []);
}

/** SIGINT or SIGTERM asks the command to end (status 0), once the current refresh is done. */
class StopSignal {
  stopped = false;
  private wake: (() => void) | undefined;
  private readonly handler = () => {
    this.stopped = true;
    this.wake?.();
  };

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** Waits `ms`; resolves true at once when asked to stop meanwhile. */
  within(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
