// The database schema and its forward-only migrations, versioned by
// PRAGMA user_version. Opening an older database migrates it; a newer one is refused.
#pragma once

#include "common/result.h"

namespace llmq::store {

class Database;

inline constexpr int kSchemaVersion = 9;

// Brings the database to kSchemaVersion inside one transaction.
Result<void> migrate(Database& db);
Result<int> schemaVersion(Database& db);

}  // namespace llmq::store
