/** The kernel's limits that checks of user input (and schemas) share. */

/** The kernel's interface name buffer, with its terminating NUL. */
export const IFNAMSIZ = 16;

export const MIN_MTU = 68;
export const MAX_MTU = 65535;
