/* Where the CNI service listens, unless NSNET_CNI_SOCKET says otherwise: the
 * service's DEFAULT_CNI_SOCKET (src/cni/service.ts); a unit test holds the two equal. */
#pragma once

#define DEFAULT_CNI_SOCKET "/run/nsnet/cni.sock"
