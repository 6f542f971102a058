// budget.list (daemon/api/handlers/budget_list.cc), on a real engine
// (tests/support/engine_fixture.h): an administrator sees every budget; a
// user sees its own (user:SELF, client:SELF, client:SELF:...) and the shared
// ones (global, model:), never another user's, nor key: or tag: budgets.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

class BudgetListTest : public llmq::testing::EngineTest {
 protected:
  std::set<std::string> scopes(uint64_t conn) {
    const std::string a = call(conn, "budget.list");
    EXPECT_FALSE(isError(a)) << a;
    std::set<std::string> out;
    for (int i = 0;; ++i) {
      const std::string s = field(a, "result.budgets." + std::to_string(i) + ".scope");
      if (s.empty()) {
        return out;
      }
      out.insert(s.substr(1, s.size() - 2));
    }
  }
};

TEST_F(BudgetListTest, AUserSeesItsOwnAndTheSharedBudgetsOnly) {
  start();
  const uint64_t root = admin();
  const std::set<std::string> all = {"global",   "model:test/a", "user:alice", "client:alice:x",
                                     "user:bob", "client:bob",   "key:pool-1", "tag:secret"};
  for (const std::string& scope : all) {
    const std::string a =
        call(root, "budget.set", "{\"scope\":\"" + scope + "\",\"period\":\"month\",\"limit_usd\":5}");
    ASSERT_FALSE(isError(a)) << a;
  }
  EXPECT_EQ(all, scopes(root));
  EXPECT_EQ((std::set<std::string>{"global", "model:test/a", "user:alice", "client:alice:x"}),
            scopes(connect(4001, "alice")));
  EXPECT_EQ((std::set<std::string>{"global", "model:test/a", "user:bob", "client:bob"}),
            scopes(connect(4002, "bob")));
}

}  // namespace
}  // namespace llmq::daemon
