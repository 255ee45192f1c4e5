/** `nsnet reconcile`: repair and garbage-collect, and say what was done. */
import { Command } from 'commander';

import { attachmentSweep } from '../../cni/attachments';
import { reconcile, type ReconcileReport } from '../../network/reconcile';
import { printJson, withProgress } from '../output';

// A bridge made again is one of the repairs, printed with them.
const WHAT: Record<Exclude<keyof ReconcileReport, 'firewallElements' | 'swept' | 'failures' | 'repaired' | 'rebuilt' | 'bridges'>, string> = {
  containers: 'containers removed (namespace gone or setup died)',
  endpoints: 'endpoints removed (namespace gone or connect died)',
  links: 'stray host interfaces removed',
  leases: 'leases released',
  ports: 'host ports released',
  strayBridges: 'bridges of unknown networks removed',
  pool: 'warm pool namespaces of dead processes removed',
};

const SWEPT: Record<string, string> = {
  attachments: 'CNI attachments removed (endpoint gone or ADD died)',
};

export function reconcileCommand(): Command {
  return new Command('reconcile')
    .description('remove what belongs to nothing; put back bridges, host veths and firewall state as the records say; mend unreadable records')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      const report = await withProgress('reconciling', () => reconcile({ sweeps: [attachmentSweep] }));
      if (options.json) {
        printJson(report);
        if (report.failures.length) process.exitCode = 1;
        return;
      }
      // One line each: they are long (what was wrong, and what became of the file).
      const lines = report.rebuilt.map((line) => `unreadable record ${line}`);
      for (const [key, label] of Object.entries(WHAT) as [keyof typeof WHAT, string][]) {
        if (report[key].length) lines.push(`${label}: ${report[key].join(', ')}`);
      }
      for (const [name, removed] of Object.entries(report.swept)) {
        if (removed.length) lines.push(`${SWEPT[name] ?? name}: ${removed.join(', ')}`);
      }
      lines.push(...report.repaired.map((repair) => `repaired ${repair}`));
      if (!lines.length && !report.failures.length) lines.push('nothing stale found');
      // Every firewall entry is written again from the records, whether it was missing or not.
      if (report.firewallElements) lines.push(`firewall entries rewritten from the records: ${report.firewallElements}`);
      if (lines.length) process.stdout.write(lines.join('\n') + '\n');
      if (report.failures.length) {
        process.stderr.write(`nsnet: reconcile could not repair: ${report.failures.join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}
