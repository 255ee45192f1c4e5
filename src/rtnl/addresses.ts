/** IP addresses of one namespace: `ns.addresses`. */
import { invalid } from '../errors';
import { addressFamilyNumber, type IpFamily, ipFamilyOf, parseCidr } from '../types/ip';
import { native, type NativeAddress } from '../native';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import type { RtnlContext } from './context';
import type { Links } from './links';

export interface Address {
  dev: string;
  index: number;
  address: string;
  prefixLength: number;
  family: IpFamily;
  cidr: string;
}

export interface AddressOptions {
  /** IPv6: usable at once, without duplicate address detection (IFA_F_NODAD). */
  nodad?: boolean;
}

export interface AddressFilter {
  dev?: string | number;
  family?: IpFamily;
}

/** An address of a dump or a notification, with its device named. */
export function toAddress(raw: NativeAddress, names: Map<number, string>): Address {
  return {
    dev: names.get(raw.index) ?? raw.label,
    index: raw.index,
    address: raw.address,
    prefixLength: raw.prefixLength,
    family: ipFamilyOf(raw.family),
    cidr: `${raw.address}/${raw.prefixLength}`,
  };
}

export class Addresses {
  constructor(
    private readonly ctx: RtnlContext,
    private readonly links: Links,
  ) {}

  /** Adds `cidr` (e.g. 10.0.0.2/24 or fd00::2/64) to `dev`. */
  async add(dev: string | number, cidr: string, options: AddressOptions = {}): Promise<void> {
    await this.change(true, dev, cidr, options);
  }

  async delete(dev: string | number, cidr: string): Promise<void> {
    await this.change(false, dev, cidr, {});
  }

  async list(filter: AddressFilter = {}): Promise<Address[]> {
    if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) {
      throw invalid(`address family must be 4 or 6, got ${String(filter.family)}`);
    }
    const family = filter.family ? addressFamilyNumber(filter.family) : 0;
    // One device's name comes with it; every device's takes a dump of every link.
    const device = filter.dev === undefined ? undefined : await this.links.get(filter.dev);
    const index = device?.index ?? 0;
    const conn = await this.ctx.connection();
    const [replies, names] = await Promise.all([
      conn.query(`address list in ${this.ctx.label}`, native().encodeAddressDump(family, index)),
      device ? new Map([[device.index, device.name]]) : this.links.list().then((links) => new Map(links.map((link) => [link.index, link.name]))),
    ]);
    return native()
      .parseAddresses(replies)
      .filter((raw) => !index || raw.index === index)
      .map((raw) => toAddress(raw, names));
  }

  private async change(add: boolean, dev: string | number, cidr: string, options: AddressOptions): Promise<void> {
    const index = await this.links.indexOf(dev);
    const { op, message } = this.changeRequest(add, index, cidr, options, dev);
    const conn = await this.ctx.connection();
    await conn.request(op, message);
  }

  /** The addition of `cidr` to link `index`, as a request for a chain (RtnlConnection.chain). */
  addRequest(index: number, cidr: string, options: AddressOptions = {}): ChainedRequest {
    return this.changeRequest(true, index, cidr, options);
  }

  private changeRequest(add: boolean, index: number, cidr: string, options: AddressOptions, dev: string | number = index): ChainedRequest {
    const parsed = parseCidr(cidr, 'address');
    const message = native().encodeAddress(add, {
      index,
      address: parsed.address,
      prefixLength: parsed.prefixLength,
      noDad: Boolean(options.nodad) && parsed.family === 6,
    });
    return { op: `address ${add ? 'add' : 'delete'} ${cidr} dev ${dev} in ${this.ctx.label}`, message };
  }
}
