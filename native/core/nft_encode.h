// nf_tables messages for the per-container hot path: set and map element
// changes, sent inside an nfnetlink batch (one transaction).
#pragma once

#include <string>
#include <vector>

#include "rtnl_types.h"

namespace nsnet {

struct SetElement {
  Bytes key;   // the key, concatenated fields each padded to 4 bytes
  Bytes data;  // a map's value (empty for a plain set)
};

struct SetElementChange {
  bool add = true;
  bool exclusive = false;  // add: fail with EEXIST when an element exists
  bool flush = false;      // delete without an element list: empty the set
  uint8_t family = 1;      // NFPROTO_INET
  std::string table;
  std::string set;
  std::vector<SetElement> elements;
};

Bytes encodeSetElements(const SetElementChange& change);
// NFT_MSG_GETTABLE of one table: answered by the table, or ENOENT.
Bytes encodeTableGet(uint8_t family, const std::string& table);
Bytes encodeBatchBegin();
Bytes encodeBatchEnd();

}  // namespace nsnet
