// The pure input checks that run before anything reaches the kernel: valid
// input is returned (normalised where documented), invalid input throws an
// NsnetError with code INVALID_ARGUMENT.
import { expect } from 'chai';

import { NsnetError } from '../../dist/errors.js';
import { checkConnectInput } from '../../dist/network/connect-options.js';
import { addressBytes, hasHostBits, ipFamily, parseCidr } from '../../dist/types/ip.js';
import { native } from '../../dist/native.js';
import { checkNamespaceName } from '../../dist/netns.js';
import { sysctlPath } from '../../dist/sysctl.js';
import { checkAlias, checkInterfaceName, checkMac, checkMtu, checkNewInterfaceName, checkOneOf, checkUint } from '../../dist/validate.js';

function expectInvalid(check, value, ...rest) {
  let thrown;
  try {
    check(value, ...rest);
  } catch (error) {
    thrown = error;
  }
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  expect(thrown, `${check.name}(${shown}) should throw`).to.be.instanceOf(NsnetError);
  expect(thrown.code, `${check.name}(${shown})`).to.equal('INVALID_ARGUMENT');
  return thrown;
}

const bytesOf = (text) => Buffer.byteLength(text);
const hexOf = (bytes) => Buffer.from(bytes).toString('hex');

describe('input validation', function () {
  describe('checkInterfaceName', function () {
    it('accepts ordinary names and returns them unchanged', function () {
      for (const name of ['eth0', 'lo', 'a', 'veth-1_2', 'br0.100', 'vx@1', 'wg+0']) {
        expect(checkInterfaceName(name)).to.equal(name);
      }
    });

    it('accepts a 15-byte name and refuses a 16-byte one (IFNAMSIZ 16 with the NUL)', function () {
      expect(checkInterfaceName('abcdefghijklmno')).to.equal('abcdefghijklmno');
      expectInvalid(checkInterfaceName, 'abcdefghijklmnop');
    });

    it('counts UTF-8 bytes, not characters: multi-byte names up to 15 bytes pass', function () {
      const fifteen = ['é'.repeat(7) + 'a', '€'.repeat(5), '🙂🙂🙂abc'];
      for (const name of fifteen) {
        expect(bytesOf(name)).to.equal(15);
        expect(checkInterfaceName(name)).to.equal(name);
      }
      const sixteen = ['é'.repeat(8), '€'.repeat(5) + 'a', '🙂🙂🙂🙂'];
      for (const name of sixteen) {
        expect(bytesOf(name)).to.equal(16);
        expect(name.length).to.be.below(16);
        expectInvalid(checkInterfaceName, name);
      }
    });

    it("refuses '/', ':', whitespace and NUL anywhere in the name", function () {
      for (const name of ['a/b', '/', 'eth0:1', ':', 'a b', ' eth0', 'eth0 ', 'a\tb', 'a\nb', 'a\0b']) {
        expectInvalid(checkInterfaceName, name);
      }
    });

    it("refuses '.', '..' and the empty name, but not names that merely contain dots", function () {
      for (const name of ['.', '..', '']) expectInvalid(checkInterfaceName, name);
      expect(checkInterfaceName('...')).to.equal('...');
      expect(checkInterfaceName('.a')).to.equal('.a');
    });

    it('refuses values that are not strings', function () {
      for (const value of [undefined, null, 0, 42, {}, ['eth0']]) expectInvalid(checkInterfaceName, value);
    });

    it('names what was being checked in the message', function () {
      expect(expectInvalid(checkInterfaceName, 'a/b', 'veth peer name').message).to.include('veth peer name');
    });
  });

  describe('checkNewInterfaceName', function () {
    it("refuses 'all' and 'default', which the kernel keeps for its sysctl directories, and what checkInterfaceName refuses", function () {
      for (const name of ['all', 'default']) {
        expect(checkInterfaceName(name)).to.equal(name); // an existing name to look up: merely never found
        expect(expectInvalid(checkNewInterfaceName, name, 'ifname').message).to.include(`ifname "${name}" is reserved`);
      }
      for (const name of ['a/b', '', 'x'.repeat(16)]) expectInvalid(checkNewInterfaceName, name);
      for (const name of ['eth0', 'lo', 'All', 'defaults']) expect(checkNewInterfaceName(name)).to.equal(name);
    });
  });

  describe('checkConnectInput', function () {
    it('says whether the MAC was asked for (only such a MAC is checked against the network), in lower case', function () {
      expect(checkConnectInput({ mac: '02:AA:00:00:00:01' })).to.include({ mac: '02:aa:00:00:00:01', macGiven: true, ifname: 'eth0' });
      const random = checkConnectInput({});
      expect(random.macGiven).to.equal(false);
      expect(checkMac(random.mac)).to.equal(random.mac);
    });

    it('refuses reserved interface names, multicast and all-zero MACs, naming the option', function () {
      for (const [options, text] of [
        [{ ifname: 'all' }, 'ifname "all" is reserved'],
        [{ ifname: 'default' }, 'ifname "default" is reserved'],
        [{ mac: '01:00:5e:00:00:01' }, 'mac 01:00:5e:00:00:01 is a multicast address'],
        [{ mac: '00:00:00:00:00:00' }, 'mac may not be all zeros'],
      ]) {
        expect(expectInvalid(checkConnectInput, options).message).to.contain(text);
      }
    });
  });

  describe('checkMac', function () {
    it('accepts unicast addresses and returns them in lower case', function () {
      expect(checkMac('02:42:ac:11:00:02')).to.equal('02:42:ac:11:00:02');
      expect(checkMac('AA:BB:CC:DD:EE:0F')).to.equal('aa:bb:cc:dd:ee:0f');
      expect(checkMac('00:00:00:00:00:01')).to.equal('00:00:00:00:00:01');
    });

    it('refuses multicast and broadcast addresses (low bit of the first octet set)', function () {
      for (const mac of ['01:00:5e:00:00:01', '33:33:00:00:00:01', 'ff:ff:ff:ff:ff:ff', '03:00:00:00:00:00']) {
        expect(expectInvalid(checkMac, mac).message).to.include('multicast');
      }
    });

    it('refuses the all-zero address', function () {
      expect(expectInvalid(checkMac, '00:00:00:00:00:00').message).to.include('zeros');
    });

    it('refuses malformed text', function () {
      const malformed = [
        '',
        '02:42:ac:11:00',
        '02:42:ac:11:00:02:03',
        '02:42:ac:11:00:02:',
        '02-42-ac-11-00-02',
        '0242.ac11.0002',
        '0242ac110002',
        '2:42:ac:11:0:2',
        '02:42:ac:11:00:0g',
        ' 02:42:ac:11:00:02',
        '02:42:ac:11:00:02\n',
      ];
      for (const mac of malformed) expectInvalid(checkMac, mac);
      for (const value of [undefined, null, 0x0242ac110002]) expectInvalid(checkMac, value);
    });
  });

  describe('checkMtu', function () {
    it('accepts integers from 68 to 65535', function () {
      for (const mtu of [68, 576, 1280, 1500, 9000, 65535]) expect(checkMtu(mtu)).to.equal(mtu);
    });

    it('refuses 67 and 65536, fractions, strings and non-numbers', function () {
      for (const mtu of [67, 0, -1500, 65536, 1500.5, '1500', NaN, Infinity, null, undefined, 1500n]) {
        expectInvalid(checkMtu, mtu);
      }
    });
  });

  describe('checkUint', function () {
    it('accepts 0 to 2^32-1 by default', function () {
      for (const value of [0, 1, 254, 0xffffffff]) expect(checkUint(value, 'table')).to.equal(value);
    });

    it('refuses negatives, 2^32, fractions and strings', function () {
      for (const value of [-1, 2 ** 32, 1.5, '1', NaN, null]) expectInvalid(checkUint, value, 'table');
    });

    it('honours the given bounds and names the value in the message', function () {
      expect(checkUint(1, 'route table', 10, 1)).to.equal(1);
      expect(checkUint(10, 'route table', 10, 1)).to.equal(10);
      expectInvalid(checkUint, 0, 'route table', 10, 1);
      const error = expectInvalid(checkUint, 11, 'route table', 10, 1);
      expect(error.message).to.include('route table').and.include('1 to 10');
    });
  });

  describe('checkAlias', function () {
    it('accepts printable text up to 255 bytes, including the empty alias', function () {
      for (const alias of ['', 'uplink to rack 4', 'x'.repeat(255), 'é'.repeat(127) + 'a']) {
        expect(checkAlias(alias)).to.equal(alias);
      }
      expect(bytesOf('é'.repeat(127) + 'a')).to.equal(255);
    });

    it('refuses 256 bytes, NUL, newline and non-strings', function () {
      for (const alias of ['x'.repeat(256), 'é'.repeat(128), 'a\0b', 'a\nb', undefined, 42]) {
        expectInvalid(checkAlias, alias);
      }
    });
  });

  describe('checkOneOf', function () {
    it('accepts a listed value and refuses anything else', function () {
      expect(checkOneOf('l2', ['l2', 'l3'], 'ipvlan mode')).to.equal('l2');
      expectInvalid(checkOneOf, 'L2', ['l2', 'l3'], 'ipvlan mode');
      expectInvalid(checkOneOf, undefined, ['l2', 'l3'], 'ipvlan mode');
    });
  });

  describe('ipFamily', function () {
    it('tells IPv4 from IPv6, including "::" forms and IPv4-mapped IPv6', function () {
      expect(ipFamily('10.0.0.1')).to.equal(4);
      expect(ipFamily('0.0.0.0')).to.equal(4);
      for (const address of ['::', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '64:ff9b::192.0.2.33']) {
        expect(ipFamily(address), address).to.equal(6);
      }
    });

    it('refuses zone ids, malformed addresses and non-strings', function () {
      for (const address of ['fe80::1%eth0', 'fe80::1%1', '10.0.0', '10.0.0.256', '1.2.3.4.5', ':::', 'fd00::1::2', 'localhost', '', undefined, 167772161]) {
        expectInvalid(ipFamily, address);
      }
    });
  });

  describe('parseCidr', function () {
    it('splits address and prefix length, with the family', function () {
      expect(parseCidr('10.0.0.1/24')).to.deep.equal({ address: '10.0.0.1', prefixLength: 24, family: 4 });
      expect(parseCidr('0.0.0.0/0')).to.deep.equal({ address: '0.0.0.0', prefixLength: 0, family: 4 });
      expect(parseCidr('fd00::1/64')).to.deep.equal({ address: 'fd00::1', prefixLength: 64, family: 6 });
      expect(parseCidr('::/0')).to.deep.equal({ address: '::', prefixLength: 0, family: 6 });
      expect(parseCidr('::ffff:10.0.0.1/128')).to.deep.equal({ address: '::ffff:10.0.0.1', prefixLength: 128, family: 6 });
    });

    it('takes the whole address as the prefix when there is no /len', function () {
      expect(parseCidr('10.0.0.1')).to.deep.equal({ address: '10.0.0.1', prefixLength: 32, family: 4 });
      expect(parseCidr('fd00::1')).to.deep.equal({ address: 'fd00::1', prefixLength: 128, family: 6 });
    });

    it('accepts the largest prefix of each family and refuses one more (33, 129)', function () {
      expect(parseCidr('10.0.0.1/32').prefixLength).to.equal(32);
      expect(parseCidr('fd00::1/128').prefixLength).to.equal(128);
      expectInvalid(parseCidr, '10.0.0.1/33');
      expectInvalid(parseCidr, 'fd00::1/129');
    });

    it('refuses a missing, negative or non-decimal prefix length', function () {
      for (const text of ['10.0.0.1/', '10.0.0.1/-1', '10.0.0.1/+8', '10.0.0.1/ 24', '10.0.0.1/24 ', '10.0.0.1/0x10', '10.0.0.1/1e1', '10.0.0.1/2.5', '10.0.0.1/24/8', '10.0.0.1/1000']) {
        expectInvalid(parseCidr, text);
      }
    });

    it('refuses zone ids, bad addresses and non-strings', function () {
      for (const text of ['fe80::1%eth0', 'fe80::1%eth0/64', '10.0.0.256/24', '10.0.0/24', '/24', '', 'default', undefined, null]) {
        expectInvalid(parseCidr, text);
      }
    });
  });

  describe('addressBytes', function () {
    const known = {
      '10.0.0.1': '0a000001',
      '192.168.77.254': 'c0a84dfe',
      '255.255.255.255': 'ffffffff',
      '::': '00000000000000000000000000000000',
      '::1': '00000000000000000000000000000001',
      '1::': '00010000000000000000000000000000',
      'fd00::1': 'fd000000000000000000000000000001',
      'fe80::1:2': 'fe800000000000000000000000010002',
      'FD00::ABCD': 'fd00000000000000000000000000abcd',
      '2001:db8:85a3::8a2e:370:7334': '20010db885a3000000008a2e03707334',
      '2001:0db8:0000:0000:0000:ff00:0042:8329': '20010db8000000000000ff0000428329',
      '1:2:3:4:5:6:7::': '00010002000300040005000600070000',
      '::2:3:4:5:6:7:8': '00000002000300040005000600070008',
      '::ffff:192.0.2.128': '00000000000000000000ffffc0000280',
      '::ffff:10.0.0.1': '00000000000000000000ffff0a000001',
      '64:ff9b::192.0.2.33': '0064ff9b0000000000000000c0000221',
      '1:2:3:4:5:6:1.2.3.4': '00010002000300040005000601020304',
    };

    for (const [address, bytes] of Object.entries(known)) {
      it(`gives ${address} as ${bytes}`, function () {
        const result = addressBytes(address);
        expect(result).to.be.instanceOf(Uint8Array);
        expect(hexOf(result)).to.equal(bytes);
      });
    }

    it("agrees with the C library's inet_pton (IFA_LOCAL of an encoded address)", function () {
      // The addon's encoder converts addresses with inet_pton; its IFA_LOCAL
      // attribute is the 4 or 16 bytes right after the 24-byte headers.
      for (const address of Object.keys(known)) {
        const encoded = native().encodeAddress(true, { index: 1, address, prefixLength: 8 });
        const length = encoded.readUInt16LE(24) - 4;
        expect(hexOf(addressBytes(address)), address).to.equal(hexOf(encoded.subarray(28, 28 + length)));
      }
    });
  });

  describe('hasHostBits', function () {
    const cases = [
      ['10.0.0.0/24', false],
      ['10.0.0.1/24', true],
      ['10.0.0.128/25', false],
      ['10.0.0.64/25', true],
      ['10.1.0.0/8', true],
      ['10.0.0.0/8', false],
      ['0.0.0.0/0', false],
      ['0.0.0.1/0', true],
      ['10.0.0.1/32', false],
      ['fd00::/64', false],
      ['fd00::1/64', true],
      ['fd00:0:0:1::/64', false],
      ['fd00:0:0:1::/63', true],
      ['fd00::1/128', false],
      ['::ffff:10.0.0.0/120', false],
      ['::ffff:10.0.0.1/120', true],
    ];
    for (const [cidr, expected] of cases) {
      it(`says ${cidr} ${expected ? 'has' : 'has no'} host bits`, function () {
        expect(hasHostBits(parseCidr(cidr))).to.equal(expected);
      });
    }
  });

  describe('sysctlPath', function () {
    it('maps dotted net.* keys to /proc/sys paths', function () {
      expect(sysctlPath('net.ipv4.ip_forward')).to.equal('/proc/sys/net/ipv4/ip_forward');
      expect(sysctlPath('net.ipv6.conf.all.disable_ipv6')).to.equal('/proc/sys/net/ipv6/conf/all/disable_ipv6');
      expect(sysctlPath('net.ipv4.conf.veth-1.rp_filter')).to.equal('/proc/sys/net/ipv4/conf/veth-1/rp_filter');
    });

    it('splits a key with slashes on slashes, keeping dots in interface names', function () {
      expect(sysctlPath('net/ipv4/conf/eth0.100/rp_filter')).to.equal('/proc/sys/net/ipv4/conf/eth0.100/rp_filter');
    });

    it('refuses keys outside net', function () {
      for (const key of ['kernel.hostname', 'vm.swappiness', 'NET.ipv4.ip_forward', 'netfilter.x', 'kernel/net/x', 'net']) {
        expectInvalid(sysctlPath, key);
      }
    });

    it("refuses '.' and '..' segments, which could leave /proc/sys/net", function () {
      for (const key of ['net/ipv4/../../kernel/hostname', 'net/..', 'net/./ipv4/ip_forward', 'net/ipv4/conf/../../../vm/swappiness']) {
        expectInvalid(sysctlPath, key);
      }
    });

    it('refuses empty segments and characters outside [A-Za-z0-9_.-]', function () {
      const keys = ['', 'net.', 'net..ipv4', '.net.ipv4', 'net//ipv4', '/net/ipv4/ip_forward', 'net/ipv4/ip_forward/', 'net.ipv4.ip forward', 'net.ipv4.ip_forward\n', 'net/ipv4/conf/a b/x', 'net.ipv4.*'];
      for (const key of keys) expectInvalid(sysctlPath, key);
      for (const key of [undefined, null, 42, ['net', 'ipv4']]) expectInvalid(sysctlPath, key);
    });
  });

  describe('checkNamespaceName', function () {
    it('accepts letters, digits, _, . and -, not leading with . or -, up to 255 characters', function () {
      for (const name of ['a', '0', 'ns1', '_x', 'my-ns.test_1', 'A'.repeat(255)]) {
        expect(checkNamespaceName(name)).to.equal(name);
      }
    });

    it("refuses '.', '..', the empty name and names starting with '.' or '-'", function () {
      for (const name of ['', '.', '..', '.hidden', '-x']) expectInvalid(checkNamespaceName, name);
    });

    it('refuses 256 characters, path separators, whitespace, other characters and non-strings', function () {
      const names = ['A'.repeat(256), 'a/b', '../x', 'a b', 'a\tb', 'ns\n', 'né', 'ns:1', 'ns%1'];
      for (const name of names) expectInvalid(checkNamespaceName, name);
      for (const value of [undefined, null, 7]) expectInvalid(checkNamespaceName, value);
    });
  });
});
