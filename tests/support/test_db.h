// TestDb: a migrated SQLite database in its own TempDir, for unit tests of the
// store and of the daemon pieces that write through it; openDatabase, a second
// connection to the database of a running llmqd. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/database.h"
#include "store/schema.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {

class TestDb {
 public:
  // Opens <tempdir>/llmq.db; migrates it unless `migrate` is false. Check ok().
  explicit TestDb(bool migrate = true, store::OpenOptions options = {}) {
    path_ = dir_.file("llmq.db");
    auto db = store::Database::open(path_, options);
    if (!db) {
      error_ = db.error().message;
      return;
    }
    db_ = std::move(db).value();
    if (migrate) {
      if (auto r = store::migrate(*db_); !r) {
        error_ = r.error().message;
        db_.reset();
      }
    }
  }

  ::testing::AssertionResult ok() const {
    if (db_ == nullptr) {
      return ::testing::AssertionFailure() << "opening the test database: " << error_;
    }
    return ::testing::AssertionSuccess();
  }

  store::Database& db() { return *db_; }
  const std::string& path() const { return path_; }
  const TempDir& dir() const { return dir_; }
  // Closes the connection (e.g. before reopening the same file).
  void close() { db_.reset(); }

 private:
  TempDir dir_;
  std::string path_;
  std::string error_;
  std::unique_ptr<store::Database> db_;
};

// Opens the database at `path` beside the llmqd that uses it (WAL: reads see its
// last commit); null, with a failed expectation, when it cannot be opened.
inline std::unique_ptr<store::Database> openDatabase(const std::string& path) {
  auto db = store::Database::open(path, store::OpenOptions{});
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
  return db.ok() ? std::move(*db) : nullptr;
}

// Runs a query that returns one text or integer cell, as text ("" when no row).
inline std::string queryOne(store::Database& db, const std::string& sql) {
  auto st = db.prepare(sql);
  if (!st) {
    ADD_FAILURE() << st.error().message;
    return "";
  }
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) {
    return "";
  }
  const unsigned char* text = sqlite3_column_text(st->get(), 0);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

}  // namespace llmq::testing
