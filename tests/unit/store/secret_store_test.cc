// Tests for store/secret_store: a job's own key is encrypted at rest, readable
// only with the key file, erased on demand, and the key file is created 0600.
#include "store/secret_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "store/database.h"
#include "store/job_store.h"
#include "store/schema.h"
#include "tests/support/temp_dir.h"

namespace llmq::store {
namespace {

const std::string kKey = "sk-or-v1-testbyok000000000000000000000000000000000000000042";

TEST(SecretStoreTest, EncryptsAtRestAndErases) {
  llmq::testing::TempDir dir;
  std::string db_path = dir.file("llmq.db");
  {
    auto db = Database::open(db_path, {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(migrate(**db).ok());
    JobStore jobs(**db);
    JobRecord j;
    j.client = "c";
    j.model = "m";
    j.request_json = "{}";
    j.created_at = 1;
    auto id = jobs.insert(j, {});
    ASSERT_TRUE(id.ok());
    auto secrets = SecretStore::open(**db, dir.file("secret.key"));
    ASSERT_TRUE(secrets.ok()) << secrets.error().message;
    ASSERT_TRUE((*secrets)->put(*id, kKey).ok());
    auto back = (*secrets)->get(*id);
    ASSERT_TRUE(back.ok() && back->has_value());
    EXPECT_EQ(kKey, **back);

    struct stat st {};
    ASSERT_EQ(0, ::stat(dir.file("secret.key").c_str(), &st));
    EXPECT_EQ(0600u, st.st_mode & 0777u);

    // Another key file cannot read it.
    auto other = SecretStore::open(**db, dir.file("other.key"));
    ASSERT_TRUE(other.ok());
    auto none = (*other)->get(*id);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());

    ASSERT_TRUE((*secrets)->erase(*id).ok());
    auto gone = (*secrets)->get(*id);
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
  }
  std::ifstream in(db_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(std::string::npos, ss.str().find("testbyok")) << "never in clear in the database";
}

}  // namespace
}  // namespace llmq::store
