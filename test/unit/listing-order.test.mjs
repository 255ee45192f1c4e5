// The order listings give ids and names: the root collation's, as
// localeCompare orders them in C, POSIX and English locales, computed
// without a collator for strings of the id alphabet. No privileges.
import { expect } from 'chai';
import fc from 'fast-check';

import { rootOrder } from '../../dist/network/listing.js';

const ALPHABET = [...'_-.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
// Short strings, mostly of few characters, so that equal prefixes and case-only differences come up often.
const few = fc.constantFrom('a', 'A', 'b', 'B', '1', '_', '-', '.');
const text = fc.oneof(fc.array(few, { maxLength: 5 }), fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 })).map((chars) => chars.join(''));

describe('rootOrder (listing order of ids)', () => {
  for (const locale of ['en', 'en-US', 'und']) {
    it(`orders two strings of the id alphabet as Intl.Collator('${locale}') does`, () => {
      const collator = new Intl.Collator(locale);
      fc.assert(
        fc.property(text, text, (a, b) => rootOrder(a, b) === Math.sign(collator.compare(a, b))),
        { numRuns: 20000 },
      );
    });
  }

  it('a prefix first, lowercase before uppercase, punctuation before digits before letters', () => {
    const ids = ['b', 'B', 'a1', 'A1', 'a', 'ab', 'Aa', '10', '9', 'a-b', 'a_b', 'a.b'];
    expect([...ids].sort(rootOrder)).to.deep.equal(['10', '9', 'a', 'a_b', 'a-b', 'a.b', 'a1', 'A1', 'Aa', 'ab', 'b', 'B']);
  });
});
