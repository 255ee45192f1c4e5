/* The CNI service's answer: the plugin's exit status in decimal on a line of
 * its own, then what the plugin prints. Shared by the front end (built
 * without the C library) and nsnet-cni-start. */
#pragma once

/* Takes the status line a byte at a time: 1 once it ended, 0 while it goes
 * on, -1 for a byte that has no place in it. `status` starts at -1 (none). */
static inline int cni_status_byte(char c, int *status) {
  if (c == '\n') return 1;
  if (c < '0' || c > '9') return -1;
  *status = (*status < 0 ? 0 : *status * 10) + (c - '0');
  return 0;
}
