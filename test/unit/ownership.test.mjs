// Ownership tags: built and parsed in one module, including the endpoint tag
// of the previous release, which iptables rules in the kernel may still carry.
import { expect } from 'chai';

import { endpointTag, networkTag, NSNET_TAG, parseTag, previousEndpointTag } from '../../dist/types/ownership.js';

describe('ownership tags', () => {
  it('builds the tags of networks and endpoints', () => {
    expect(NSNET_TAG).to.equal('nsnet');
    expect(networkTag('web')).to.equal('nsnet:network:web');
    expect(endpointTag('web', '0123abcd')).to.equal('nsnet:endpoint:web:0123abcd');
    expect(previousEndpointTag('0123abcd')).to.equal('nsnet:endpoint:0123abcd');
  });

  it('parses back what it builds', () => {
    expect(parseTag(networkTag('my.net-1'))).to.deep.equal({ kind: 'network', network: 'my.net-1' });
    expect(parseTag(endpointTag('web', 'a1'))).to.deep.equal({ kind: 'endpoint', network: 'web', id: 'a1' });
    // Network names have no ":": the first one ends the network.
    expect(parseTag(endpointTag('web', 'a:b'))).to.deep.equal({ kind: 'endpoint', network: 'web', id: 'a:b' });
  });

  it('parses the endpoint tag of the previous release, without a network', () => {
    expect(parseTag(previousEndpointTag('0123abcd'))).to.deep.equal({ kind: 'endpoint', id: '0123abcd' });
  });

  it('finds no owner in anything else', () => {
    for (const tag of [undefined, '', 'nsnet', 'nsnet:test', 'nsnet:network:', 'nsnet:endpoint:', 'nsnet:endpoint:web:', 'nsnet:endpoint::a1', 'docker:network:web']) {
      expect(parseTag(tag), String(tag)).to.equal(undefined);
    }
  });
});
