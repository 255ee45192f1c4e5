// The link attributes nsnet writes and reads, as tables of rows
// (attribute_rows.h), and one entry per link kind it creates.
#pragma once

#include <string>

#include "attribute_rows.h"
#include "rtnl_types.h"

namespace nsnet {

// What a kind adds to a link creation besides the shared attributes.
struct LinkKindSchema {
  AttributeRows<LinkCreate> beside;  // top-level, beside IFLA_LINKINFO
  AttributeRows<LinkCreate> data;    // in IFLA_LINKINFO / IFLA_INFO_DATA
  bool peer = false;                 // a second link in IFLA_INFO_DATA (veth)
};

// The schema of a kind (veth, bridge, dummy, vxlan, macvlan, ipvlan), or
// nullptr for one nsnet does not create.
const LinkKindSchema* findLinkKind(const std::string& kind);

// Shared by creations and changes, and by a veth's peer.
extern const AttributeRows<LinkAttributes> kLinkAttributeRows;
// A bridge port's, in IFLA_LINKINFO / IFLA_INFO_SLAVE_DATA.
extern const AttributeRows<LinkAttributes> kBridgePortRows;
extern const AttributeRows<LinkDumpFilter> kLinkDumpFilterRows;
// What a link reads as, from RTM_NEWLINK.
extern const AttributeRows<LinkInfo> kLinkInfoRows;

}  // namespace nsnet
