// Database: open + pragmas, the statement cache, transaction primitives.
#include "store/database.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace llmq::store {

Result<void> makeParentDirs(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return makeError(ErrorKind::kIo, "creating directory " + dir + ": " + std::strerror(errno));
    }
  }
  return {};
}

ErrorKind errorKindFor(int sqlite_code) {
  if (sqlite_code == SQLITE_CONSTRAINT_COMMITHOOK) {
    return ErrorKind::kStorage;  // Refused by Database::onSqliteCommit.
  }
  switch (sqlite_code & 0xff) {
    case SQLITE_FULL:
      return ErrorKind::kStorageFull;
    case SQLITE_CONSTRAINT:
      return ErrorKind::kInvalidState;
    default:
      return ErrorKind::kStorage;
  }
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const OpenOptions& opts) {
  if (opts.create_parent && path != ":memory:") {
    if (auto r = makeParentDirs(path); !r) {
      return r.takeError();
    }
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  SqliteDbPtr db(raw);
  if (rc != SQLITE_OK) {
    return makeError(ErrorKind::kStorage,
                     "opening database " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, opts.busy_timeout_ms);
  std::unique_ptr<Database> self(new Database(std::move(db), path));
  sqlite3_commit_hook(raw, &Database::onSqliteCommit, self.get());

  const char* sync = opts.synchronous == Synchronous::kFull     ? "PRAGMA synchronous=FULL"
                     : opts.synchronous == Synchronous::kNormal ? "PRAGMA synchronous=NORMAL"
                                                                : "PRAGMA synchronous=OFF";
  // auto_vacuum first: it only takes on a database that has no table yet (a new
  // file); an older file keeps its mode until VACUUM (store/maintenance.h).
  // journal_size_limit: the WAL file is cut back to 64 MiB after a checkpoint
  // instead of keeping the size of its largest burst.
  for (const char* pragma :
       {"PRAGMA auto_vacuum=INCREMENTAL", "PRAGMA journal_mode=WAL", sync, "PRAGMA foreign_keys=ON",
        "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-16384", "PRAGMA journal_size_limit=67108864"}) {
    if (auto r = self->exec(pragma); !r) {
      return makeError(r.error().kind, "opening database " + path + ": " + r.error().message);
    }
  }
  auto max_pages = self->queryInt("PRAGMA max_page_count");
  if (!max_pages) {
    return makeError(max_pages.error().kind, "opening database " + path + ": " + max_pages.error().message);
  }
  self->default_max_pages_ = *max_pages;
  return self;
}

int Database::onSqliteCommit(void* self) noexcept {
  const auto* db = static_cast<const Database*>(self);
  return db->txn_begun_ && !db->committing_ ? 1 : 0;
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
    if ((rc & 0xff) == SQLITE_FULL && inTransaction()) {
      // As in Statement::step: a full disk loses the whole transaction, never part.
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return makeError(errorKindFor(rc), msg);
  }
  return {};
}

Result<int64_t> Database::queryInt(const char* sql) {
  auto st = prepare(sql);
  if (!st) {
    return st.takeError();
  }
  const int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) {
    return makeError(errorKindFor(rc),
                     std::string(sql) + ": " + (rc == SQLITE_DONE ? "no answer" : sqlite3_errmsg(db_.get())));
  }
  return static_cast<int64_t>(sqlite3_column_int64(st->get(), 0));
}

Result<int64_t> Database::setMaxPageCount(int64_t pages) {
  const std::string sql = "PRAGMA max_page_count=" + std::to_string(pages > 0 ? pages : default_max_pages_);
  return queryInt(sql.c_str());
}

Result<int64_t> Database::incrementalVacuum(int64_t pages) {
  auto before = queryInt("PRAGMA freelist_count");
  if (!before) {
    return before;
  }
  const std::string sql = "PRAGMA incremental_vacuum(" + std::to_string(pages) + ")";
  if (auto r = exec(sql.c_str()); !r) {
    return r.takeError();
  }
  auto after = queryInt("PRAGMA freelist_count");
  if (!after) {
    return after;
  }
  return *before - *after;
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

// BEGIN and COMMIT run as cached statements: through sqlite3_exec each one was
// parsed again, two transactions per job at low load.
namespace {
constexpr char kBeginSql[] = "BEGIN IMMEDIATE";
constexpr char kCommitSql[] = "COMMIT";
}  // namespace

Result<void> Database::begin() {
  auto r = statement(kBeginSql).run();
  txn_begun_ = r.ok();
  return r;
}

Result<void> Database::commit() {
  committing_ = true;
  auto r = statement(kCommitSql).run();
  committing_ = false;
  if (r) {
    txn_begun_ = false;
  }
  return r;
}

void Database::rollback() noexcept {
  txn_begun_ = false;
  if (inTransaction()) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Error Database::lastError(const std::string& what) const {
  int rc = sqlite3_errcode(db_.get());
  return makeError(errorKindFor(rc), what + ": " + sqlite3_errmsg(db_.get()));
}

}  // namespace llmq::store
