// Database: open + pragmas, the statement cache, transaction primitives.
#include "store/database.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace llmq::store {
namespace {

Result<void> makeParentDirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return makeError(ErrorKind::kIo, "creating directory " + dir + ": " + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace

ErrorKind errorKindFor(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_FULL: return ErrorKind::kStorageFull;
    case SQLITE_CONSTRAINT: return ErrorKind::kInvalidState;
    default: return ErrorKind::kStorage;
  }
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const OpenOptions& opts) {
  if (opts.create_parent && path != ":memory:") {
    if (auto r = makeParentDirs(path); !r) {
      return r.takeError();
    }
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) {
    return makeError(ErrorKind::kStorage, "opening database " + path + ": " +
                                              (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opts.busy_timeout_ms);
  std::unique_ptr<Database> self(new Database(std::move(db), path));

  const char* sync = opts.synchronous == Synchronous::kFull     ? "PRAGMA synchronous=FULL"
                     : opts.synchronous == Synchronous::kNormal ? "PRAGMA synchronous=NORMAL"
                                                                : "PRAGMA synchronous=OFF";
  for (const char* pragma : {"PRAGMA journal_mode=WAL", sync, "PRAGMA foreign_keys=ON",
                             "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-16384"}) {
    if (auto r = self->exec(pragma); !r) {
      return makeError(r.error().kind, "opening database " + path + ": " + r.error().message);
    }
  }
  return self;
}

Database::~Database() {
  cache_.clear();  // Finalize statements before the connection closes.
}

Result<void> Database::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = std::string(err ? err : sqlite3_errstr(rc)) + ": " + sql;
    sqlite3_free(err);
    return makeError(errorKindFor(rc), msg);
  }
  return {};
}

Statement Database::statement(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      // A statement that does not prepare is a programming error in our SQL, or
      // an out-of-memory condition; both are reported by step() on a null handle.
      LOG_ERROR("preparing statement: %s: %s", sqlite3_errmsg(db_.get()), sql);
      return Statement(db_.get(), nullptr);
    }
    it = cache_.emplace(sql, SqliteStmtPtr(raw)).first;
  }
  return Statement(db_.get(), it->second.get());
}

Result<SqliteStmtPtr> Database::prepare(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    return lastError("preparing " + sql);
  }
  return SqliteStmtPtr(raw);
}

Result<void> Database::begin() { return exec("BEGIN IMMEDIATE"); }

Result<void> Database::commit() { return exec("COMMIT"); }

void Database::rollback() noexcept {
  if (inTransaction()) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Error Database::lastError(const std::string& what) const {
  int rc = sqlite3_errcode(db_.get());
  return makeError(errorKindFor(rc), what + ": " + sqlite3_errmsg(db_.get()));
}

}  // namespace llmq::store
