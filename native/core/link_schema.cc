#include "link_schema.h"

#include <linux/if_link.h>
#include <linux/veth.h>

#include <map>

namespace nsnet {

using K = ValueKind;

const AttributeRows<LinkAttributes> kLinkAttributeRows = {
    row<K::String>(IFLA_IFNAME, "name", &LinkAttributes::name),
    row<K::U32>(IFLA_MTU, "mtu", &LinkAttributes::mtu),
    row<K::Mac>(IFLA_ADDRESS, "mac", &LinkAttributes::mac),
    row<K::U32>(IFLA_MASTER, "master", &LinkAttributes::master),
    row<K::String>(IFLA_IFALIAS, "alias", &LinkAttributes::alias),
    row<K::U32>(IFLA_GROUP, "group", &LinkAttributes::group),
    row<K::U32>(IFLA_NET_NS_FD, "netnsFd", &LinkAttributes::netnsFd),
};

const AttributeRows<LinkAttributes> kBridgePortRows = {
    row<K::Flag>(IFLA_BRPORT_MODE, "hairpin", &LinkAttributes::hairpin),
};

namespace {

const AttributeRows<LinkDumpFilter> kDumpKindRows = {
    row<K::String>(IFLA_INFO_KIND, "kind", &LinkDumpFilter::kind),
};

// A port's attributes, as its master's kind defines them: parseLink keeps them for a bridge's only.
const AttributeRows<LinkInfo> kLinkInfoBridgePortRows = {
    row<K::Flag>(IFLA_BRPORT_MODE, "hairpin", &LinkInfo::hairpin).omittedWhenAbsent(),
};

const AttributeRows<LinkInfo> kLinkInfoKindRows = {
    row<K::String>(IFLA_INFO_KIND, "kind", &LinkInfo::kind),
    row<K::String>(IFLA_INFO_SLAVE_KIND, "slaveKind", &LinkInfo::slaveKind).omittedWhenAbsent(),
    nestedRow(IFLA_INFO_SLAVE_DATA, &kLinkInfoBridgePortRows),
};

// macvlan, ipvlan and vlan hang off their parent through IFLA_LINK.
const AttributeRows<LinkCreate> kParentLinkRows = {
    row<K::U32>(IFLA_LINK, "parentIndex", &LinkCreate::parentIndex),
};

const std::map<std::string, LinkKindSchema> kLinkKinds = {
    {"veth", {{}, {}, true}},
    {"bridge", {}},
    {"dummy", {}},
    {"ifb", {}},
    {"vxlan",
     {{},
      {
          row<K::U32>(IFLA_VXLAN_ID, "vxlanId", &LinkCreate::vxlanId),
          row<K::U32>(IFLA_VXLAN_LINK, "parentIndex", &LinkCreate::parentIndex),
          row<K::Be16>(IFLA_VXLAN_PORT, "vxlanPort", &LinkCreate::vxlanPort),
          ipRow(IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, "vxlanLocal", &LinkCreate::vxlanLocal),
          ipRow(IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6, "vxlanGroup", &LinkCreate::vxlanGroup),
          row<K::Flag>(IFLA_VXLAN_LEARNING, "vxlanLearning", &LinkCreate::vxlanLearning),
          row<K::Flag>(IFLA_VXLAN_PROXY, "vxlanProxy", &LinkCreate::vxlanProxy),
      }}},
    {"macvlan", {kParentLinkRows, {row<K::U32>(IFLA_MACVLAN_MODE, "mode", &LinkCreate::mode)}}},
    {"ipvlan",
     {kParentLinkRows,
      {
          row<K::U16>(IFLA_IPVLAN_MODE, "mode", &LinkCreate::mode),
          row<K::U16>(IFLA_IPVLAN_FLAGS, "ipvlanFlags", &LinkCreate::ipvlanFlags),
      }}},
    {"vlan", {kParentLinkRows, {row<K::U16>(IFLA_VLAN_ID, "vlanId", &LinkCreate::vlanId)}}},
};

}  // namespace

const AttributeRows<LinkDumpFilter> kLinkDumpFilterRows = {
    row<K::U32>(IFLA_MASTER, "master", &LinkDumpFilter::master),
    nestedRow(IFLA_LINKINFO, &kDumpKindRows),
};

const AttributeRows<LinkInfo> kLinkInfoRows = {
    row<K::String>(IFLA_IFNAME, "name", &LinkInfo::name),
    row<K::U32>(IFLA_MTU, "mtu", &LinkInfo::mtu),
    row<K::Mac>(IFLA_ADDRESS, "mac", &LinkInfo::mac),
    row<K::U8>(IFLA_OPERSTATE, "operState", &LinkInfo::operState),
    row<K::U32>(IFLA_MASTER, "master", &LinkInfo::master),
    row<K::U32>(IFLA_LINK, "link", &LinkInfo::link),
    row<K::S32>(IFLA_LINK_NETNSID, "linkNetnsId", &LinkInfo::linkNetnsId).omittedWhenAbsent(),
    row<K::String>(IFLA_IFALIAS, "alias", &LinkInfo::alias),
    row<K::U32>(IFLA_GROUP, "group", &LinkInfo::group).omittedWhenAbsent(),
    nestedRow(IFLA_LINKINFO, &kLinkInfoKindRows),
};

const LinkKindSchema* findLinkKind(const std::string& kind) {
  auto found = kLinkKinds.find(kind);
  return found == kLinkKinds.end() ? nullptr : &found->second;
}

}  // namespace nsnet
