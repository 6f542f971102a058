// Statement: thin wrapper over sqlite3_bind/step/column. A bind failure is kept
// and reported by the next step() so call sites can chain binds.
#include "store/statement.h"

#include "store/database.h"

namespace llmq::store {

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
    rc_ = rc;
  }
  return *this;
}

Statement& Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
    rc_ = rc;
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
    rc_ = rc;
  }
  return *this;
}

Statement& Statement::bindStatic(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
    rc_ = rc;
  }
  return *this;
}

Statement& Statement::bindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && rc_ == SQLITE_OK) {
    rc_ = rc;
  }
  return *this;
}

Result<bool> Statement::step() {
  if (stmt_ == nullptr) {
    return makeError(ErrorKind::kInternal, "statement was not prepared");
  }
  if (rc_ != SQLITE_OK) {
    return makeError(errorKindFor(rc_),
                     std::string("binding parameter: ") + sqlite3_errstr(rc_) + ": " + sqlite3_sql(stmt_));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  rc_ = rc;
  if (rc == SQLITE_CONSTRAINT_COMMITHOOK) {
    return makeError(errorKindFor(rc), std::string("not written: SQLite rolled this write's transaction back "
                                                   "(the disk or [store] max_page_count is full): ") +
                                           sqlite3_sql(stmt_));
  }
  std::string message = std::string(sqlite3_errmsg(db_)) + ": " + sqlite3_sql(stmt_);
  if ((rc & 0xff) == SQLITE_FULL && sqlite3_get_autocommit(db_) == 0) {
    // SQLite undid this statement but may have left the transaction open. Undo all
    // of it, so a full disk never commits part of a turn (Database's header).
    sqlite3_reset(stmt_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return makeError(errorKindFor(rc), message);
}

Result<void> Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) {
      return r.takeError();
    }
    if (!r.value()) {
      return {};
    }
  }
}

std::string_view Statement::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

}  // namespace llmq::store
