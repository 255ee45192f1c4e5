// Properties of parsePublish (fast-check): a spec written from valid parts, in
// Docker's `[hostIp:][hostPort[-end]:]containerPort[-end][/proto]` or as an
// object, reads back as those parts; host and container ranges must be of one
// length; anything refused is an INVALID_PUBLISH NsnetError, never another exception.
import { expect } from 'chai';
import fc from 'fast-check';

import { NsnetError, parsePublish } from '../../dist/index.js';
import { groupsToNumber, inetNtop, ipv4Number, ipv6, numberToIpv4 } from './arbitraries.mjs';

/** [first, last]: a port range `length` long (0: one port). */
const range = (length) => fc.integer({ min: 1, max: 65535 - length }).map((first) => [first, first + length]);
const rangeLength = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 65534 }));

/** { text, written, canonical }: a host address, as a spec writes it (IPv6 in brackets), and as inet_ntop prints it. */
const hostIp = fc.oneof(
  ipv4Number.map((value) => {
    const text = numberToIpv4(value);
    return { text, written: text, canonical: text };
  }),
  ipv6
    .filter(({ groups }) => groupsToNumber(groups) !== 1n) // ::1 is refused (below)
    .map(({ text }) => ({ text, written: `[${text}]`, canonical: inetNtop(text, 6) })),
);

/** The valid parts of a spec: a host range of the container range's length, or of any length for one container port. */
const parts = rangeLength.chain((containerLength) =>
  fc.record({
    container: range(containerLength),
    host: fc.option(containerLength === 0 ? rangeLength.chain(range) : range(containerLength)),
    hostIp: fc.option(hostIp),
    protocol: fc.option(fc.constantFrom('tcp', 'udp', 'sctp')),
  }),
);

const rangeText = ([first, last], long) => (first === last && !long ? `${first}` : `${first}-${last}`);

function specText({ container, host, hostIp: ip, protocol }, long) {
  let text = '';
  if (ip) text += `${ip.written}:`;
  if (host) text += `${rangeText(host, long)}:`;
  else if (ip) text += ':';
  text += rangeText(container, long);
  return protocol ? `${text}/${protocol}` : text;
}

function expectedRequest({ container, host, hostIp: ip, protocol }) {
  const request = { containerPort: container[0], containerPortEnd: container[1], protocol: protocol ?? 'tcp' };
  if (ip) request.hostIp = ip.canonical;
  if (host) request.hostPort = host[0];
  if (host && host[1] !== host[0]) request.hostPortEnd = host[1];
  return request;
}

/** The error parsePublish threw, or undefined when it returned. */
function refusal(spec) {
  try {
    parsePublish(spec);
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectRefused(spec) {
  const error = refusal(spec);
  expect(error, JSON.stringify(spec)).to.be.instanceOf(NsnetError);
  expect(error.code).to.equal('INVALID_PUBLISH');
}

describe('parsePublish (properties)', () => {
  it('reads a spec written from valid parts back as those parts', () => {
    fc.assert(
      fc.property(parts, fc.boolean(), (p, long) => {
        expect(parsePublish(specText(p, long)), specText(p, long)).to.deep.equal(expectedRequest(p));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads the object form as the string form', () => {
    fc.assert(
      fc.property(parts, fc.boolean(), (p, numbers) => {
        const port = (r) => (numbers && r[0] === r[1] ? r[0] : rangeText(r, false));
        const object = { containerPort: port(p.container) };
        if (p.host) object.hostPort = port(p.host);
        if (p.hostIp) object.hostIp = p.hostIp.text;
        if (p.protocol) object.protocol = p.protocol;
        expect(parsePublish(object)).to.deep.equal(parsePublish(specText(p, false)));
      }),
    );
  });

  it('refuses host and container ranges of different lengths, and ranges that run backwards', () => {
    const unequal = fc
      .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }))
      .filter(([a, b]) => a !== b)
      .chain(([a, b]) => fc.tuple(range(a), range(b)));
    fc.assert(fc.property(unequal, ([container, host]) => expectRefused(`${host.join('-')}:${container.join('-')}`)));
    const backwards = range(1).chain((r) => fc.integer({ min: 1, max: 100 }).map((n) => [r[1] + n - 1, r[0]]));
    fc.assert(
      fc.property(backwards, fc.boolean(), ([first, last], asHost) => {
        fc.pre(first > last);
        expectRefused(asHost ? `${first}-${last}:80` : `${first}-${last}`);
      }),
    );
  });

  it('returns a request or throws INVALID_PUBLISH for any input, never another exception', () => {
    const specLike = fc.stringMatching(/^[0-9:\-/[\]a-fptcu.% ]{0,40}$/);
    const objectLike = fc.record(
      { containerPort: fc.anything(), hostPort: fc.anything(), hostIp: fc.anything(), protocol: fc.anything() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(specLike, fc.string(), objectLike, fc.anything()), (spec) => {
        const error = refusal(spec);
        if (error === undefined) return;
        expect(error, JSON.stringify(spec)).to.be.instanceOf(NsnetError);
        expect(error.code).to.equal('INVALID_PUBLISH');
      }),
      { numRuns: 3000 },
    );
  });
});
