/** A nf_tables netlink socket of one namespace, sending transactions. */
import { asKernelError, kernelError } from '../errors';
import { faultPoint } from '../fault';
import type { NetlinkHandle } from '../native';

export interface NftRequest {
  /** What the request does, for error messages. */
  op: string;
  message: Buffer;
}

export class NftConnection {
  constructor(private readonly handle: NetlinkHandle) {}

  /** Sends the requests as one nfnetlink batch; throws the first failure. */
  async transaction(requests: NftRequest[]): Promise<void> {
    faultPoint('nf_tables transaction', requests[0]?.op);
    const statuses = await this.handle.batch(requests.map((r) => r.message));
    // The request that failed explains the abort; the others say ECANCELED.
    const failedAt = statuses.findIndex((s) => s !== null && s.code !== 'ECANCELED');
    const index = failedAt >= 0 ? failedAt : statuses.findIndex((s) => s !== null);
    if (index >= 0) throw kernelError(requests[index].op, statuses[index]);
  }

  /** Sends a get; resolves to the reply messages. */
  query(op: string, message: Buffer): Promise<Buffer> {
    return asKernelError(op, () => this.handle.query(message));
  }

  close(): void {
    this.handle.close();
  }
}
