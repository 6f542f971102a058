// The names of usage.report's grouping dimensions.
#include "store/usage_report.h"

namespace llmq::store {

const char* usageDimName(UsageDim d) {
  switch (d) {
    case UsageDim::kModel:
      return "model";
    case UsageDim::kClient:
      return "client";
    case UsageDim::kKey:
      return "key";
    case UsageDim::kTag:
      return "tag";
    case UsageDim::kDay:
      return "day";
  }
  return "?";
}

bool parseUsageDim(std::string_view name, UsageDim* out) {
  for (UsageDim d : {UsageDim::kModel, UsageDim::kClient, UsageDim::kKey, UsageDim::kTag, UsageDim::kDay}) {
    if (name == usageDimName(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

}  // namespace llmq::store
