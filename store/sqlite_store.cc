// SqliteStore: the turn's transaction is the connection's own.
#include "store/sqlite_store.h"

#include "store/database.h"

namespace llmq::store {

Result<void> SqliteStore::begin() { return db_.begin(); }

Result<void> SqliteStore::commit() { return db_.commit(); }

void SqliteStore::rollback() noexcept { db_.rollback(); }

bool SqliteStore::inTransaction() const { return db_.inTransaction(); }

}  // namespace llmq::store
