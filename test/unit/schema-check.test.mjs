// The checks of schema-check.ts give valibot's own answer (v.is) for every
// schema of nsnet's, on records as nsnet writes them, on every kind of damage
// to them, and on any value at all; what they do not cover is left to valibot.
import { execFileSync } from 'node:child_process';

import { expect } from 'chai';
import fc from 'fast-check';
import * as v from 'valibot';

import * as attachment from '../../dist/types/attachment.js';
import * as cniConfig from '../../dist/types/cni-config.js';
import * as container from '../../dist/types/container.js';
import * as endpoint from '../../dist/types/endpoint.js';
import * as leases from '../../dist/types/leases.js';
import * as network from '../../dist/types/network.js';
import * as ports from '../../dist/types/ports.js';
import { fitsOf, presenceCheck } from '../../dist/types/schema-check.js';

/** Every schema the types modules export, by name. */
const schemas = Object.entries({ ...attachment, ...cniConfig, ...container, ...endpoint, ...leases, ...network, ...ports }).filter(([name]) =>
  name.endsWith('Schema'),
);

const created = '2026-01-01T00:00:00.000Z';
const port = { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' };
/** A value of each schema's kind that fits, as nsnet writes or is given it. */
const fitting = {
  AttachmentRecordSchema: { network: 'web', containerId: 'k1', ifname: 'eth0', netnsPath: '/run/netns/c1', endpoint: 'web@1', status: 'ready', pid: 1, created },
  ContainerRecordSchema: { id: 'c1', mode: 'network', network: 'web', joinedBy: ['c2'], netnsPath: '/run/netns/c1', netnsInode: 4026532000, ownsNamespace: true, endpoint: 'web@4026532000', status: 'ready', pid: 7, created },
  EndpointRecordSchema: {
    id: 'e1', network: 'web', netnsPath: '/run/netns/c1', netnsInode: 4026532000, ifname: 'eth0', hostIfname: 'eth0.10', link: 'macvlan',
    hostMac: '02:00:00:00:00:01', mac: '02:00:00:00:00:02', ipv4: '10.90.1.2', prefixLength: 24, ipv6: 'fd00:5a::2', prefixLength6: 64,
    gateway: '10.90.1.1', gateway6: 'fd00:5a::1', ports: [port, { ...port, hostIp: '::', protocol: 'udp' }], status: 'ready', pid: 7, created,
  },
  NetworkRecordSchema: {
    name: 'web', bridge: 'nsbr-web', bridgeMac: '02:00:00:00:00:03', subnet: '10.90.1.0/24', gateway: '10.90.1.1', subnetAuto: false,
    ipv6: { subnet: 'fd00:5a::/64', gateway: 'fd00:5a::1' }, mtu: 1500, masquerade: true, icc: true, internal: false, hostIp: '0.0.0.0',
    firewall: 'auto', activeFirewall: 'nftables', created, ipRange: '10.90.1.128/25', auxAddresses: { router: '10.90.1.2' },
  },
  NetworkLeasesSchema: { ipv4: { addresses: { '10.90.1.2': 'e1' }, last: '2' }, ipv6: { addresses: { 'fd00:5a::2': 'e1' } } },
  LeaseTableSchema: { addresses: { '10.90.1.2': 'e1' }, last: '2' },
  PortTableSchema: { 8080: [{ hostIp: '0.0.0.0', owner: 'e1' }], 53: [{ hostIp: '::', owner: 'e2' }, { hostIp: '127.0.0.1', owner: 'e3' }] },
  PublishedPortSchema: port,
  PublishObjectSchema: { hostIp: '127.0.0.1', hostPort: '8080-8081', containerPort: 80, protocol: 'udp' },
  PublishSpecSchema: '8080:80/tcp',
  ConnectOptionsSchema: { ifname: 'eth1', ip: '10.90.1.9', mac: '02:00:00:00:00:09', publish: ['80', { containerPort: 53, protocol: 'udp' }] },
  SetupOptionsSchema: { network: 'web', publish: ['8080:80'] },
  BridgeNetworkOptionsSchema: { name: 'web', subnet: '10.90.1.0/24', ipv6: { subnet: 'fd00:5a::/64' }, mtu: 9000, icc: false, firewall: 'none', ipRange: '10.90.1.128/25', auxAddresses: { router: '10.90.1.2' } },
  MacvlanNetworkOptionsSchema: { name: 'lan', parent: 'eth0.10', subnet: '192.168.1.0/24', gateway: '192.168.1.1', mode: 'bridge', ipRange: '192.168.1.128/25', auxAddresses: { dhcp: '192.168.1.2' }, hostInterface: { name: 'lan-host', address: '192.168.1.254' } },
  IpvlanNetworkOptionsSchema: { name: 'lan', parent: 'eth0', subnet: '192.168.1.0/24', mode: 'l3', flag: 'private', internal: false, dns: false },
  CniNetworkConfigSchema: {
    cniVersion: '1.0.0', name: 'k8s', type: 'nsnet', bridge: 'cni0', subnet: '10.22.0.0/16', mtu: 1500, ipMasq: true,
    ipam: { type: 'host-local' }, dns: { nameservers: ['10.0.0.53'], search: ['svc'] }, prevResult: { ips: [] },
  },
};

/** The paths of every value inside `value`: [] for itself, ['ports', 0, 'hostIp'], ... */
function pathsOf(value, path = []) {
  const inner = value !== null && typeof value === 'object' ? Object.keys(value).flatMap((key) => pathsOf(value[key], [...path, Array.isArray(value) ? Number(key) : key])) : [];
  return [path, ...inner];
}

/** `value` with what is at `path` replaced (undefined: taken out), or a key added beside it. */
function damaged(value, path, change) {
  const copy = structuredClone(value);
  if (path.length === 0) return change.kind === 'replace' ? change.value : copy;
  const parent = path.slice(0, -1).reduce((at, key) => at[key], copy);
  const key = path.at(-1);
  if (change.kind === 'delete') delete parent[key];
  else if (change.kind === 'replace') parent[key] = change.value;
  // A key the parent holds for good (an array's length) cannot be added again: no damage then.
  else if (Object.getOwnPropertyDescriptor(parent, change.key)?.configurable !== false) {
    Object.defineProperty(parent, change.key, { value: change.value, enumerable: true, configurable: true, writable: true });
  }
  return copy;
}

/** Values of every JSON kind, and some that JSON cannot hold. */
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.anything({ maxDepth: 1 }), fc.constantFrom(NaN, -0, 1.5, 65536, 0, '', 'fd00::1', '10.0.0.1/33', [], {}));
const change = fc.oneof(
  fc.record({ kind: fc.constant('replace'), value: anyValue }),
  fc.record({ kind: fc.constant('delete') }),
  fc.record({ kind: fc.constant('add'), key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', '0', '65536', 'toString')), value: anyValue }),
);

describe('schema checks (valibot’s answer, without its copies)', () => {
  it('covers every exported schema of the types modules with a value that fits', () => {
    expect(schemas.map(([name]) => name).sort()).to.deep.equal(Object.keys(fitting).sort());
    for (const [name, schema] of schemas) {
      expect(v.is(schema, fitting[name]), name).to.equal(true);
      expect(fitsOf(schema)(fitting[name]), name).to.equal(true);
    }
  });

  it('agrees with v.is on every damage to a fitting value: a value replaced, a key taken out or added', () => {
    for (const [name, schema] of schemas) {
      const fits = fitsOf(schema);
      const paths = pathsOf(fitting[name]);
      fc.assert(
        fc.property(fc.constantFrom(...paths), change, (path, how) => {
          const value = damaged(fitting[name], path, how);
          expect(fits(value), `${name} ${JSON.stringify(path)} ${how.kind}`).to.equal(v.is(schema, value));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('agrees with v.is on any value at all', () => {
    for (const [name, schema] of schemas) {
      const fits = fitsOf(schema);
      fc.assert(fc.property(anyValue, (value) => fits(value) === v.is(schema, value)), { numRuns: 200 });
    }
  });

  it('takes the keys valibot takes: inherited ones in objects, own ones but __proto__, prototype and constructor in records', () => {
    const object = v.object({ toString: v.string() });
    expect(fitsOf(object)({})).to.equal(v.is(object, {})).and.to.equal(false); // Object.prototype.toString is there, and no string
    const record = v.record(v.pipe(v.string(), v.regex(/^\d+$/)), v.number());
    for (const text of ['{"__proto__": "x"}', '{"constructor": "x"}', '{"prototype": "x"}', '{"1": 2, "x": 3}', '{"1": "2"}']) {
      const value = JSON.parse(text);
      expect(fitsOf(record)(value), text).to.equal(v.is(record, value));
    }
  });

  it('agrees at the edges of the kinds it covers: NaN, holes in lists, undefined, functions and lists as objects', () => {
    const cases = [
      [v.number(), [NaN, 0, -0, Infinity, '1']],
      [v.array(v.string()), [[, 'a'], ['a'], [undefined], {}]],
      [v.object({ a: v.optional(v.string()) }), [{}, { a: undefined }, { a: 1 }, [], () => 1, null]],
      [v.picklist(['a', NaN]), [NaN, 'a', 'b']],
      [v.union([v.string(), v.pipe(v.number(), v.integer(), v.minValue(1))]), ['x', 0, 1, 1.5]],
      [v.pipe(v.string(), v.minLength(1)), ['', 'a']],
      // A list's length, and a presence check of an object's entries, are the same of valibot's copy as of the value.
      [v.pipe(v.array(v.string()), v.minLength(1)), [[], ['a'], [1], 'a']],
      [v.pipe(v.object({ a: v.optional(v.string()), b: v.optional(v.number()) }), presenceCheck((o) => o.a !== undefined || o.b !== undefined, 'a or b')), [{}, { a: 'x' }, { b: 1 }, { c: 1 }, { a: 1 }, { a: undefined }, null]],
      [v.pipe(v.string(), v.check((s) => s.startsWith('x'))), ['x1', 'y', 1]],
      // No key but the schema's, inherited ones too (valibot's for-in).
      [v.strictObject({ a: v.string(), b: v.optional(v.number()) }), [{ a: 'x' }, { a: 'x', b: 1 }, { a: 'x', c: 1 }, { b: 1 }, Object.create({ c: 1 }, { a: { value: 'x', enumerable: true } }), []]],
    ];
    for (const [schema, values] of cases) {
      for (const value of values) expect(fitsOf(schema)(value), String(value)).to.equal(v.is(schema, value));
    }
  });

  it('answers as valibot where node may not compile code from text (--disallow-code-generation-from-strings)', () => {
    const script = `
      const v = require('valibot');
      const { fitsOf } = require('./dist/types/schema-check.js');
      const { EndpointRecordSchema } = require('./dist/types/endpoint.js');
      const record = ${JSON.stringify(fitting.EndpointRecordSchema)};
      const answers = [record, { ...record, mac: 'nope' }, null].map((value) => [fitsOf(EndpointRecordSchema)(value), v.is(EndpointRecordSchema, value)]);
      process.stdout.write(JSON.stringify(answers));`;
    const answers = JSON.parse(execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script], { encoding: 'utf8' }));
    expect(answers).to.deep.equal([[true, true], [false, false], [false, false]]);
  });

  it('leaves to valibot what its rules do not cover: defaults, fallbacks, transformations, other kinds and actions', () => {
    const cases = [
      [v.object({ a: v.optional(v.string(), 'x') }), [{}, { a: 1 }, { a: 'y' }]],
      [v.object({ a: v.fallback(v.string(), 'x') }), [{}, { a: 1 }]],
      [v.pipe(v.string(), v.transform((s) => s.length), v.minValue(2)), ['a', 'abc', 3]],
      [v.pipe(v.object({ a: v.string() }), v.check((o) => Object.keys(o).length === 1)), [{ a: 'x' }, { a: 'x', b: 1 }]],
      [v.nullish(v.number()), [null, undefined, 1, 'x']],
      [v.object({ a: v.nullish(v.number()) }), [{}, { a: null }, { a: 'x' }]],
      [v.pipe(v.object({ a: v.optional(v.string()) }), v.check((o) => o.a !== undefined)), [{}, { a: 'x' }]],
      [v.pipe(v.array(v.string()), v.check((list) => list.length === 1)), [['a'], []]],
      [v.pipe(v.string(), v.maxLength(2)), ['ab', 'abc']],
      [v.tuple([v.string()]), [['a'], [1]]],
    ];
    for (const [schema, values] of cases) {
      for (const value of values) expect(fitsOf(schema)(value), JSON.stringify(value)).to.equal(v.is(schema, value));
    }
  });
});
