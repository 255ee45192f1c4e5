// Small byte helpers shared by the unit tests: golden hex, and a plain
// JavaScript walk over netlink messages and attributes that does not use the
// addon's own parser.

/**
 * Bytes written as hex in a template literal: whitespace is ignored and '#'
 * starts a comment running to the end of the line.
 */
export function hex(strings) {
  const digits = strings.raw.join('').replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`not an even run of hex digits: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** A hex fixture file's text (possibly split over lines) as bytes. */
export function fromHexText(text) {
  return hex({ raw: [text] });
}

/**
 * One line per 4-byte word with its offset, so that a failed comparison of
 * two messages shows which words differ.
 */
export function words(buffer) {
  const lines = [];
  for (let offset = 0; offset < buffer.length; offset += 4) {
    lines.push(`${offset.toString().padStart(4)}: ${buffer.subarray(offset, offset + 4).toString('hex')}`);
  }
  return lines.join('\n');
}

export const NLMSG_HDRLEN = 16;
export const align4 = (n) => (n + 3) & ~3;

/** The messages of a buffer, as { offset, len, type, bytes } (bytes: the whole message). */
export function messagesOf(buffer) {
  const out = [];
  for (let offset = 0; offset + NLMSG_HDRLEN <= buffer.length; ) {
    const len = buffer.readUInt32LE(offset);
    if (len < NLMSG_HDRLEN) throw new Error(`nlmsg_len ${len} at offset ${offset}`);
    const type = buffer.readUInt16LE(offset + 4);
    out.push({ offset, len, type, bytes: buffer.subarray(offset, offset + len) });
    offset += align4(len);
  }
  return out;
}

/** The attributes of `data` from `start`, as { offset, len, type } (offsets into data). */
export function attributesOf(data, start = 0) {
  const out = [];
  for (let offset = start; offset + 4 <= data.length; ) {
    const len = data.readUInt16LE(offset);
    if (len < 4) throw new Error(`nla_len ${len} at offset ${offset}`);
    const type = data.readUInt16LE(offset + 2) & 0x3fff;
    out.push({ offset, len, type });
    offset += align4(len);
  }
  return out;
}

/** One attribute: 4-byte header and payload, padded to 4 bytes. */
export function attribute(type, payload) {
  const out = Buffer.alloc(align4(4 + payload.length));
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** A netlink message: nlmsghdr (seq and pid 0) followed by `body`, padded to 4 bytes. */
export function message(type, flags, body) {
  const out = Buffer.alloc(align4(NLMSG_HDRLEN + body.length));
  out.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

export function u32(value) {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value);
  return out;
}
