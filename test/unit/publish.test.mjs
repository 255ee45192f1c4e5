// parsePublish: Docker's -p syntax and objects, with no privileges.
import { expect } from 'chai';

import { parsePublish } from '../../dist/index.js';
import { errorCode as code } from '../helpers.mjs';

describe('parsePublish', () => {
  it('reads every form of Docker -p', () => {
    expect(parsePublish('80')).to.deep.equal({ containerPort: 80, containerPortEnd: 80, protocol: 'tcp' });
    expect(parsePublish('8080:80')).to.deep.equal({ hostPort: 8080, containerPort: 80, containerPortEnd: 80, protocol: 'tcp' });
    expect(parsePublish('127.0.0.1:8080:80/udp')).to.deep.equal({
      hostIp: '127.0.0.1',
      hostPort: 8080,
      containerPort: 80,
      containerPortEnd: 80,
      protocol: 'udp',
    });
    expect(parsePublish('127.0.0.1::80')).to.deep.equal({ hostIp: '127.0.0.1', containerPort: 80, containerPortEnd: 80, protocol: 'tcp' });
    expect(parsePublish('[fd00:0::1]:8080:80/sctp')).to.deep.include({ hostIp: 'fd00::1', hostPort: 8080, protocol: 'sctp' });
    expect(parsePublish('8000-8002:80-82')).to.deep.equal({ hostPort: 8000, hostPortEnd: 8002, containerPort: 80, containerPortEnd: 82, protocol: 'tcp' });
    expect(parsePublish('8000-8010:80')).to.deep.include({ hostPort: 8000, hostPortEnd: 8010, containerPort: 80, containerPortEnd: 80 });
  });

  it('reads objects', () => {
    expect(parsePublish({ containerPort: 80, hostPort: 8080, protocol: 'udp', hostIp: '0.0.0.0' })).to.deep.equal({
      hostIp: '0.0.0.0',
      hostPort: 8080,
      containerPort: 80,
      containerPortEnd: 80,
      protocol: 'udp',
    });
  });

  it('refuses what is not a port spec, with INVALID_PUBLISH', () => {
    const bad = ['[::1]:8080:80', '[0:0::1]::80', '[fe80::1%eth0]:80:80', '', ':', '0', '65536', '80/icmp', 'a:80', '1.2.3.4:5:6:7', '8000-7999:80', '8000-8002:80-81', '[::1:80:80', 'localhost:80:80', '80-', '-80', ' 80', '80; drop table', { containerPort: 'x' }, { containerPort: 80, protocol: 'gre' }, 42, null];
    for (const spec of bad) expect(code(() => parsePublish(spec)), JSON.stringify(spec)).to.equal('INVALID_PUBLISH');
  });

  it('shows the port it refuses as it was given', () => {
    const message = (spec) => {
      try {
        parsePublish(spec);
      } catch (error) {
        return error.message;
      }
      return 'no error';
    };
    expect(message({ hostPort: -1, containerPort: 80 })).to.contain('hostPort must be a port 1-65535 or a range like 8000-8010, got "-1"');
    expect(message({ hostPort: 8080, containerPort: -80 })).to.contain('got "-80"');
    expect(message({ hostPort: 1.5, containerPort: 80 })).to.contain('got 1.5');
    expect(message({ hostPort: 0, containerPort: 80 })).to.contain('hostPort must be 1-65535, got "0"');
    expect(message({ hostPort: 70000, containerPort: 80 })).to.contain('got "70000"');
    expect(message('-1:80')).to.contain('host port must be a port 1-65535 or a range like 8000-8010, got "-1"');
    expect(message('80-')).to.contain('got "80-"');
  });
});
