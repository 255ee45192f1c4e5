/**
 * Where nsnet's values live in etcd, under the store's prefix:
 *
 *   <prefix>/networks/<name>/definition        the network's OverlayDefinition
 *   <prefix>/vnis/<vni>                        the name of the network the VNI is
 *   <prefix>/networks/<name>/hosts/<underlay>  a HostEntry, on the host's lease
 *   <prefix>/networks/<name>/addresses/<ipv4>  an AddressEntry, on the host's lease
 *   <prefix>/networks/<name>/addresses6/<ipv6> the owning IPv4 address, on the same lease
 */
export class StoreKeys {
  constructor(readonly prefix: string) {}

  network(name: string): string {
    return `${this.prefix}/networks/${name}/`;
  }

  definition(name: string): string {
    return `${this.network(name)}definition`;
  }

  vnis(): string {
    return `${this.prefix}/vnis/`;
  }

  vni(vni: number): string {
    return `${this.vnis()}${vni}`;
  }

  hosts(name: string): string {
    return `${this.network(name)}hosts/`;
  }

  host(name: string, underlay: string): string {
    return `${this.hosts(name)}${underlay}`;
  }

  addresses(name: string): string {
    return `${this.network(name)}addresses/`;
  }

  address(name: string, ipv4: string): string {
    return `${this.addresses(name)}${ipv4}`;
  }

  /** Both address prefixes: `addresses/` and `addresses6/`. */
  anyAddresses(name: string): string {
    return `${this.network(name)}addresses`;
  }

  address6(name: string, ipv6: string): string {
    return `${this.network(name)}addresses6/${ipv6}`;
  }
}

/** The end of the key range of every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = end[end.length - 1]! + 1;
  return end;
}
