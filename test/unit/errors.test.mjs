// Errors keep their class when wrapped, "gone" is decided in one place, and
// an undo stack reports what it could not undo instead of dropping it.
import { expect } from 'chai';

import { isGone, kernelError, NetlinkError, NsnetError, unlessGone } from '../../dist/errors.js';
import { Undo } from '../../dist/network/undo.js';

const enodev = () => kernelError('link get veth0', Object.assign(new Error('ENODEV: No such device'), { code: 'ENODEV', errno: -19 }));

describe('errors', function () {
  it('a kernel error wrapped with context stays a NetlinkError with its errno, op, extack and cause', function () {
    const kernel = kernelError('link add', Object.assign(new Error('EEXIST: File exists'), { code: 'EEXIST', errno: -17, extack: 'already there' }));
    const wrapped = kernel.withContext('connect failed at "create veth"', { step: 'create veth' });
    expect(wrapped).to.be.instanceOf(NetlinkError);
    expect(wrapped).to.be.instanceOf(NsnetError);
    expect(wrapped.code).to.equal('EEXIST');
    expect(wrapped.errno).to.equal(17);
    expect(wrapped.op).to.equal('link add');
    expect(wrapped.extack).to.equal('already there');
    expect(wrapped.details).to.deep.equal({ step: 'create veth' });
    expect(wrapped.cause).to.equal(kernel);
    expect(wrapped.message).to.equal('connect failed at "create veth": link add: File exists: already there');
  });

  it("a library error wrapped keeps its code and details, and adds a note's details", function () {
    const error = new NsnetError('PORT_IN_USE', 'tcp 8080 is taken', { port: 8080 });
    const noted = error.withNote('could not undo: x', { notUndone: ['x'] });
    expect(noted).to.be.instanceOf(NsnetError);
    expect(noted).to.not.be.instanceOf(NetlinkError);
    expect(noted.code).to.equal('PORT_IN_USE');
    expect(noted.details).to.deep.equal({ port: 8080, notUndone: ['x'] });
    expect(noted.message).to.equal('tcp 8080 is taken; could not undo: x');
  });

  it('isGone: missing devices, files, processes, addresses and namespaces; nothing else', function () {
    expect(isGone(enodev())).to.equal(true);
    expect(isGone(Object.assign(new Error('x'), { code: 'ENOENT' }))).to.equal(true);
    expect(isGone(new NsnetError('NETNS_NOT_FOUND', 'no namespace'))).to.equal(true);
    expect(isGone(kernelError('link add', Object.assign(new Error('x'), { code: 'EEXIST', errno: -17 })))).to.equal(false);
    expect(isGone(new NsnetError('PORT_IN_USE', 'taken'))).to.equal(false);
    expect(isGone(new Error('plain'))).to.equal(false);
  });

  it('unlessGone turns gone into undefined and passes anything else on', async function () {
    expect(await unlessGone(async () => Promise.reject(enodev()))).to.equal(undefined);
    expect(await unlessGone(async () => 5)).to.equal(5);
    const busy = new NsnetError('CONTAINER_IN_USE', 'busy');
    let thrown;
    await unlessGone(async () => Promise.reject(busy)).catch((error) => (thrown = error));
    expect(thrown).to.equal(busy);
  });
});

describe('Undo', function () {
  it('undoes last first, past failures, and reports what it could not undo with the original error', async function () {
    const order = [];
    const undo = new Undo();
    undo.push('first', async () => order.push('first'));
    undo.push('second', async () => {
      order.push('second');
      throw new Error('device busy');
    });
    undo.push('third', async () => {
      order.push('third');
      throw enodev(); // gone already: done
    });
    const original = new NsnetError('ADDRESS_IN_USE', '10.0.0.2 is taken');
    const error = await undo.fail(original);
    expect(order).to.deep.equal(['third', 'second', 'first']);
    expect(error.code).to.equal('ADDRESS_IN_USE');
    expect(error.message).to.equal('10.0.0.2 is taken; could not undo: second: device busy');
    expect(error.details.notUndone).to.deep.equal(['second: device busy']);
    expect(error.cause).to.equal(original);
  });

  it('gives the original error back untouched when everything was undone', async function () {
    const undo = new Undo();
    undo.push('made', async () => undefined);
    const original = new Error('boom');
    expect(await undo.fail(original)).to.equal(original);
    expect(await undo.run()).to.deep.equal([]);
  });
});

describe('Undo, a step that guards the earlier ones', function () {
  it('keeps the steps before it when it cannot be undone, and says so', async function () {
    const order = [];
    const undo = new Undo();
    undo.push('records', async () => order.push('records'));
    undo.push('veth', async () => {
      throw new Error('device busy');
    }, { guardsEarlier: true });
    undo.push('rules', async () => order.push('rules'));
    const failures = await undo.run();
    expect(order).to.deep.equal(['rules']);
    expect(failures).to.deep.equal(['veth: device busy', 'records: kept, as veth stays']);
  });
});
