/** The kernel's limits that checks of user input (and schemas) share. */

/** The kernel's interface name buffer, with its terminating NUL. */
export const IFNAMSIZ = 16;

export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/** A warm pool's entries are ports of its network's bridge, which holds at most 1,023 (BR_MAX_PORTS, port 0 unused). */
export const MAX_POOL_SIZE = 1023;
