// The SQLite baseline: raw sqlite3 calls on a connection opened and migrated by
// the store layer, so the schema, indexes and pragmas are the daemon's own.
#include "bench/support/sqlite_baseline.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "bench/support/report.h"
#include "store/database.h"
#include "store/job_store_sql.h"
#include "store/schema.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {
namespace {

// The statements the daemon itself runs.
using store::sql::kInsertJobSql;
using store::sql::kInsertTagSql;

Error sqliteError(sqlite3* db, const std::string& what) {
  return makeError(ErrorKind::kStorage, what + ": " + sqlite3_errmsg(db));
}

int64_t wallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<InsertResult> sqliteInserts(const Workload& w, int64_t jobs, int64_t batch) {
  testing::TempDir dir;
  auto opened = store::Database::open(dir.file("baseline.db"), store::OpenOptions{});
  if (!opened) {
    return opened.takeError();
  }
  store::Database& database = **opened;
  if (auto m = store::migrate(database); !m) {
    return m.takeError();
  }
  sqlite3* db = database.handle();
  sqlite3_stmt* raw_job = nullptr;
  sqlite3_stmt* raw_tag = nullptr;
  if (sqlite3_prepare_v2(db, kInsertJobSql, -1, &raw_job, nullptr) != SQLITE_OK) {
    return sqliteError(db, "preparing the job insert");
  }
  store::SqliteStmtPtr job_st(raw_job);
  if (sqlite3_prepare_v2(db, kInsertTagSql, -1, &raw_tag, nullptr) != SQLITE_OK) {
    return sqliteError(db, "preparing the tag insert");
  }
  store::SqliteStmtPtr tag_st(raw_tag);

  InsertResult res;
  double t0 = nowSeconds();
  for (int64_t i = 0; i < jobs;) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return sqliteError(db, "BEGIN");
    }
    for (int64_t end = std::min(jobs, i + batch); i < end; ++i) {
      std::string request = requestJson(w, i);
      sqlite3_stmt* s = job_st.get();
      sqlite3_bind_int(s, 1, 0);  // queued
      sqlite3_bind_int(s, 2, 0);  // priority
      sqlite3_bind_text(s, 3, kClient, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 4, kTagsJson, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 5, kModel, -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 6, request.data(), static_cast<int>(request.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, 7, "{}", -1, SQLITE_STATIC);
      sqlite3_bind_null(s, 8);
      sqlite3_bind_int(s, 9, w.execute ? 1 : 0);
      sqlite3_bind_int(s, 10, 4);  // max_attempts
      sqlite3_bind_int(s, 11, 0);  // on_restart = requeue
      sqlite3_bind_null(s, 12);
      sqlite3_bind_null(s, 13);
      sqlite3_bind_int64(s, 14, wallMs());
      sqlite3_bind_int(s, 15, 1);
      sqlite3_bind_text(s, 16, kClient, -1, SQLITE_STATIC);  // owner
      sqlite3_bind_int(s, 17, 0);                            // kind = chat
      if (sqlite3_step(s) != SQLITE_DONE) {
        return sqliteError(db, "inserting a job");
      }
      sqlite3_reset(s);
      int64_t id = sqlite3_last_insert_rowid(db);
      sqlite3_bind_text(tag_st.get(), 1, kTag, -1, SQLITE_STATIC);
      sqlite3_bind_int64(tag_st.get(), 2, id);
      if (sqlite3_step(tag_st.get()) != SQLITE_DONE) {
        return sqliteError(db, "inserting a tag");
      }
      sqlite3_reset(tag_st.get());
      ++res.rows;
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return sqliteError(db, "COMMIT");
    }
  }
  res.seconds = nowSeconds() - t0;
  return res;
}

}  // namespace llmq::bench
