/** Sizes as Docker prints them (`docker stats`, `docker images`): decimal units, three significant digits. */
const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** 0B, 648B, 1.23kB, 45.6MB, 1GB: like Docker's, except that 999.9 reads 1kB where Docker prints 1e+03B. */
export function humanBytes(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < BYTE_UNITS.length - 1) {
    size /= 1000;
    unit += 1;
  }
  let shown = Number(size.toPrecision(3));
  if (shown >= 1000 && unit < BYTE_UNITS.length - 1) {
    unit += 1;
    shown = Number((size / 1000).toPrecision(3));
  }
  return `${shown}${BYTE_UNITS[unit]}`;
}

/** Bytes per second, or '-' when there is no rate yet. */
export function humanRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '-' : `${humanBytes(bytesPerSecond)}/s`;
}
