// store::Transaction: a scoped BEGIN IMMEDIATE that rolls back unless commit() is
// called. Used for one-off units of work such as migrations and startup recovery;
// the daemon's steady-state writes go through daemon::CommitCycle instead.
#pragma once

#include "common/result.h"

namespace llmq::store {

class Database;

class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> begin();
  Result<void> commit();

 private:
  Database& db_;
  bool open_ = false;
};

}  // namespace llmq::store
