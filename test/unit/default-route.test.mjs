// Which of a namespace's networks gives it its default routes: Docker 28's
// order (libnetwork Endpoint.Less, getGatewayEndpoint), without privileges.
import { expect } from 'chai';

import { gatewayEndpoints, gatewayOrder, routeChoice } from '../../dist/network/default-route.js';

const dual = (network, gwPriority) => ({ network, gwPriority, gateway: '10.0.0.1', gateway6: 'fd00::1' });
const v4 = (network, gwPriority) => ({ network, gwPriority, gateway: '10.0.1.1' });
const v6 = (network, gwPriority) => ({ network, gwPriority, gateway6: 'fd00:1::1' });
const internal = (network, gwPriority) => ({ network, gwPriority });
const names = (endpoints) => [...endpoints].sort(gatewayOrder).map((e) => e.network);

describe('default routes by gwPriority', () => {
  it('orders by priority, highest first, negative ones after those without (0)', () => {
    expect(names([dual('a', -1), dual('b'), dual('c', 2), dual('d', 0)])).to.deep.equal(['c', 'b', 'd', 'a']);
  });

  it('at equal priority: both families before one, one before none (internal), then the name that sorts first (byte order)', () => {
    expect(names([v4('a'), internal('A'), dual('z'), v6('b'), dual('Z')])).to.deep.equal(['Z', 'z', 'a', 'b', 'A']);
    // Priority comes before everything else, an internal network's too.
    expect(names([dual('a'), internal('b', 1)])).to.deep.equal(['b', 'a']);
  });

  it('chooses per family the first endpoint in the order with a gateway of it; an internal network gives none', () => {
    const chosen = gatewayEndpoints([internal('i', 9), v4('a', 1), dual('b')]);
    expect(chosen[4].network).to.equal('a');
    expect(chosen[6].network).to.equal('b');
    expect(gatewayEndpoints([internal('i', 9)])).to.deep.equal({});
  });

  it('has a new endpoint add its routes where no other network has a gateway of the family, replace them where it wins, and add none where it loses', () => {
    expect(routeChoice(dual('b'), [])).to.deep.equal({ 4: 'add', 6: 'add' });
    expect(routeChoice(dual('b'), [internal('a', 5)])).to.deep.equal({ 4: 'add', 6: 'add' });
    expect(routeChoice(dual('b', 1), [dual('a')])).to.deep.equal({ 4: 'replace', 6: 'replace' });
    expect(routeChoice(dual('b'), [dual('a')])).to.deep.equal({ 4: 'none', 6: 'none' });
    expect(routeChoice(dual('a'), [dual('b')])).to.deep.equal({ 4: 'replace', 6: 'replace' });
    expect(routeChoice(v4('a', 1), [dual('b')])).to.deep.equal({ 4: 'replace', 6: 'none' });
    expect(routeChoice(dual('b'), [v4('a', 1)])).to.deep.equal({ 4: 'none', 6: 'add' });
    expect(routeChoice(internal('a', 9), [dual('b')])).to.deep.equal({ 4: 'none', 6: 'none' });
  });

  it('keeps a route that is there when asked to (CNI: the first attachment gives it)', () => {
    expect(routeChoice(dual('a', 9), [dual('b')], true)).to.deep.equal({ 4: 'add', 6: 'add' });
  });
});
