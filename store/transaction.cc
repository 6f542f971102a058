// Transaction: rollback-by-default scope guard.
#include "store/transaction.h"

#include "store/database.h"

namespace llmq::store {

Transaction::~Transaction() {
  if (open_) {
    db_.rollback();
  }
}

Result<void> Transaction::begin() {
  auto r = db_.begin();
  open_ = r.ok();
  return r;
}

Result<void> Transaction::commit() {
  auto r = db_.commit();
  if (r) {
    open_ = false;
  }
  return r;
}

}  // namespace llmq::store
