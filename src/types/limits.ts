/** The kernel's limits that checks of user input (and schemas) share. */

/** The kernel's interface name buffer, with its terminating NUL. */
export const IFNAMSIZ = 16;

export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/** The ports one bridge holds: the kernel's BR_MAX_PORTS (1024), port number 0 unused. */
export const BRIDGE_MAX_PORTS = 1023;

/** A warm pool's entries are ports of its network's bridge. */
export const MAX_POOL_SIZE = BRIDGE_MAX_PORTS;
