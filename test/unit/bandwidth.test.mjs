// Bandwidth limits without the kernel: rates and sizes as tc reads them, the
// checks of a limit, the tbf parameters of one, and what reconcile finds
// missing from what the kernel shows.
import { expect } from 'chai';

import { checkBandwidth, defaultBurst, formatRate, limitsFor, parseRate, parseSize, tbfParameters } from '../../dist/network/bandwidth.js';
import { checkConnectInput } from '../../dist/network/connect-options.js';
import { limitRepairs } from '../../dist/network/shaping-repair.js';
import { readConfig } from '../../dist/cni/config.js';

function refusal(fn) {
  try {
    fn();
  } catch (error) {
    return error.code;
  }
  return 'no error';
}

describe('bandwidth limits', function () {
  describe('rates', function () {
    it("reads tc's units, in any case, as bits per second", function () {
      expect(parseRate('10mbit')).to.equal(10e6);
      expect(parseRate('10Mbit')).to.equal(10e6);
      expect(parseRate('1.5gbit')).to.equal(1.5e9);
      expect(parseRate('500kbit')).to.equal(500e3);
      expect(parseRate('1mibit')).to.equal(2 ** 20);
      expect(parseRate('2mbps')).to.equal(16e6); // bytes per second, as tc has it
      expect(parseRate('1KiBps')).to.equal(8192);
      expect(parseRate('100tbit')).to.equal(100e12);
      expect(parseRate('64000')).to.equal(64000); // a bare number: bits
      expect(parseRate(' 2e6bit ')).to.equal(2e6);
      expect(parseRate(12345678)).to.equal(12345678);
    });

    it('refuses zero, negative, absurd and unparsable rates with INVALID_BANDWIDTH', function () {
      for (const bad of [0, -1, '0mbit', '-10mbit', '101tbit', 1e15, Infinity, NaN, '10 megabits', 'fast', '', '10mbit/s', '1e400bit', '7bit']) {
        expect(refusal(() => parseRate(bad)), String(bad)).to.equal('INVALID_BANDWIDTH');
      }
    });

    it('writes a rate in its largest whole SI unit', function () {
      expect(formatRate(10e6)).to.equal('10mbit');
      expect(formatRate(1.5e9)).to.equal('1500mbit');
      expect(formatRate(12345)).to.equal('12345bit');
    });
  });

  describe('sizes', function () {
    it("reads tc's size units (binary k, m, g; kbit as an eighth)", function () {
      expect(parseSize('32kb')).to.equal(32768);
      expect(parseSize('32k')).to.equal(32768);
      expect(parseSize('1mb')).to.equal(2 ** 20);
      expect(parseSize('1g')).to.equal(2 ** 30);
      expect(parseSize('8kbit')).to.equal(1024);
      expect(parseSize('1500b')).to.equal(1500);
      expect(parseSize(65536)).to.equal(65536);
    });

    it('refuses sizes of nothing, of 4 GiB or more, and what is no size', function () {
      for (const bad of [0, -5, '4gb', 2 ** 32, 'big', '32 kilobytes']) expect(refusal(() => parseSize(bad)), String(bad)).to.equal('INVALID_BANDWIDTH');
    });
  });

  describe('limits', function () {
    it('gives a limit without a burst 10 ms at its rate, 16 KiB at least', function () {
      expect(defaultBurst(10e6)).to.equal(16384);
      expect(defaultBurst(1e9)).to.equal(1250000);
      expect(limitsFor(checkBandwidth({ egress: { rate: '1gbit' } }), 1500)).to.deep.equal({ egress: { rate: 1e9, burst: 1250000 } });
      expect(limitsFor(checkBandwidth({ ingress: { rate: '10mbit', burst: '32kb' } }), 1500)).to.deep.equal({ ingress: { rate: 10e6, burst: 32768 } });
      expect(checkBandwidth({})).to.equal(undefined);
    });

    it('gives a limit without a burst on a network of a large MTU a burst a packet of that MTU fits in', function () {
      const limits = limitsFor(checkBandwidth({ ingress: { rate: '1mbit' }, egress: { rate: '10gbit' } }), 65000);
      expect(limits).to.deep.equal({ ingress: { rate: 1e6, burst: 65014 }, egress: { rate: 10e9, burst: 12500000 } });
    });

    it('refuses a burst without a rate, and a burst too small for a packet of the MTU', function () {
      expect(refusal(() => checkBandwidth({ egress: { burst: '32kb' } }))).to.equal('INVALID_BANDWIDTH');
      expect(refusal(() => limitsFor({ ingress: { rate: 1e6, burst: 1500 } }, 1500))).to.equal('INVALID_BANDWIDTH');
      expect(refusal(() => limitsFor({ ingress: { rate: 1e6, burst: 1514 } }, 1500))).to.equal('no error');
    });

    it('refuses bad limits among connect options before anything is made, unknown keys too', function () {
      expect(refusal(() => checkConnectInput({ bandwidth: { egress: { rate: 0 } } }))).to.equal('INVALID_BANDWIDTH');
      expect(refusal(() => checkConnectInput({ bandwidth: { egress: { rate: '10mbit', ceil: 1 } } }))).to.equal('INVALID_BANDWIDTH');
      expect(refusal(() => checkConnectInput({ bandwidth: { sideways: { rate: 1e6 } } }))).to.equal('INVALID_BANDWIDTH');
      expect(refusal(() => checkConnectInput({ bandwidth: { egress: { rate: true } } }))).to.equal('INVALID_BANDWIDTH');
      expect(checkConnectInput({ bandwidth: { ingress: { rate: '10mbit' } } }).bandwidth).to.deep.equal({ ingress: { rate: 10e6 } });
    });

    it("computes a tbf's parameters as the CNI bandwidth plugin does (25 ms of queue beside the burst)", function () {
      // 10 Mbit/s: 1250000 bytes/s; 25 ms of it is 31250 bytes; 16384 bytes take 13.1072 ms, 204800 ticks of 64 ns.
      expect(tbfParameters({ rate: 10e6, burst: 16384 })).to.deep.equal({ rate: 1250000, burst: 16384, limit: 47634, buffer: 204800 });
      // 100 Tbit/s: the queue's bytes are capped to 32 bits.
      expect(tbfParameters({ rate: 100e12, burst: 2 ** 20 }).limit).to.equal(0xffffffff);
      expect(tbfParameters({ rate: 100e12, burst: 2 ** 20 }).rate).to.equal(12.5e12);
    });
  });

  describe('what reconcile finds missing', function () {
    const endpoint = { id: 'abc', network: 'n', hostIfname: 'vethabc', bandwidth: { ingress: { rate: 10e6, burst: 16384 }, egress: { rate: 20e6, burst: 32768 }, ifb: 'ifbabc' } };
    const hostEnd = { index: 5, name: 'vethabc' };
    const ifb = { index: 9, name: 'ifbabc', alias: 'nsnet:endpoint:n:abc' };
    const complete = [
      { index: 5, kind: 'tbf', handle: 0x10000, parent: 0xffffffff, tbf: { rate: 1250000 } },
      { index: 5, kind: 'ingress', handle: 0xffff0000, parent: 0xfffffff1 },
      { index: 9, kind: 'tbf', handle: 0x10000, parent: 0xffffffff, tbf: { rate: 2500000 } },
    ];
    const filters = [{ kind: 'u32', parent: 0xffff0000 }, { kind: 'u32', parent: 0xffff0000, redirect: 9 }];

    it('nothing when every qdisc and the filter are there', function () {
      expect(limitRepairs(endpoint, { hostEnd, ifb, qdiscs: complete, filters })).to.deep.equal([]);
    });

    it('each part that is gone or of another rate', function () {
      expect(limitRepairs(endpoint, { hostEnd, ifb, qdiscs: complete.slice(1), filters })).to.have.length(1);
      const otherRate = [{ ...complete[0], tbf: { rate: 1 } }, ...complete.slice(1)];
      expect(limitRepairs(endpoint, { hostEnd, ifb, qdiscs: otherRate, filters })[0]).to.match(/ingress limit 10mbit/);
      expect(limitRepairs(endpoint, { hostEnd, ifb, qdiscs: complete, filters: filters.slice(0, 1) })[0]).to.match(/redirect/);
      expect(limitRepairs(endpoint, { hostEnd, qdiscs: complete, filters })[0]).to.match(/ifb ifbabc made again/);
      expect(limitRepairs(endpoint, { hostEnd, ifb: { ...ifb, up: false }, qdiscs: complete, filters })).to.deep.equal(['up state of ifb ifbabc']);
      expect(limitRepairs(endpoint, { hostEnd, ifb: { ...ifb, alias: undefined }, qdiscs: complete, filters })).to.deep.equal(['tag of ifb ifbabc']);
    });
  });

  describe('CNI runtimeConfig.bandwidth', function () {
    const config = (bandwidth) => JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'nsnet', runtimeConfig: { bandwidth } });

    it('takes rates in bits per second and bursts in bits (as the bandwidth plugin), 0 for none', function () {
      const { connect } = readConfig(config({ ingressRate: 10e6, ingressBurst: 262144, egressRate: 0, egressBurst: 0 }));
      expect(connect.bandwidth).to.deep.equal({ ingress: { rate: 10e6, burst: 32768 } });
      expect(readConfig(config({ egressRate: 10e6 })).connect.bandwidth).to.deep.equal({ egress: { rate: 10e6 } });
      expect(readConfig(config({})).connect.bandwidth).to.equal(undefined);
    });

    it('refuses a burst without a rate, and a rate out of range, as an invalid config (7)', function () {
      expect(refusal(() => readConfig(config({ egressBurst: 8000 })))).to.equal(7);
      expect(refusal(() => readConfig(config({ ingressRate: 1e15 })))).to.equal(7);
      expect(refusal(() => readConfig(config({ ingressRate: -1 })))).to.equal(7);
    });
  });
});
