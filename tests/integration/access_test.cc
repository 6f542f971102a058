// Integration: access control (ipc/PROTOCOL.md, Access, -32003). llmqd runs as root here; the
// client runs as `nobody` through setpriv, against a 0600 user socket (it cannot
// connect at all) and a 0660 socket of group nogroup (nobody's primary group),
// with and without that group. A non-administrator sees, cancels and pauses only
// its own jobs, its client labels carry its user name, and administrator methods
// answer -32003; `[access] admin_group` makes it an administrator.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/other_user.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class AccessTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!canActAsOtherUsers()) {
      GTEST_SKIP() << kNeedsOtherUsers;
    }
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0755)) << "nobody must reach the socket";
  }
  // No client_: a test opens the root connection it needs (daemon_->connect()).
  void start(const std::string& toml) { launchDaemon({.config_toml = toml}, /*connect=*/false); }
  // `llmq --json ARGS` as nobody, with `groups` as its only groups (primary first).
  CommandResult asNobody(std::vector<std::string> args, const std::string& group = "nogroup") {
    std::vector<std::string> argv = asUser("nobody", group);
    args.insert(args.begin(), "--json");
    const std::vector<std::string> cli = cliArgv(std::move(args));
    argv.insert(argv.end(), cli.begin(), cli.end());
    return runCommand(argv, "", {}, 30000, /*merge_stderr=*/true);
  }
  static std::string jobIdOf(const CommandResult& r) {
    json::Document d;
    if (!json::parse(d, r.output, nullptr) || !d.IsObject() || !d.HasMember("job_id")) {
      return "";
    }
    return d["job_id"].GetString();
  }
};

TEST_F(AccessTest, AUserSocketLetsNoOtherUserIn) {
  start("");  // The default: 0600.
  auto r = asNobody({"status"});
  EXPECT_EQ(3, r.exit_code) << r.output;
}

TEST_F(AccessTest, TheSocketGroupDecidesWhoConnects) {
  start("[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n");
  struct stat st {};
  ASSERT_EQ(0, ::stat(daemon_->socketPath().c_str(), &st));
  EXPECT_EQ(0660u, st.st_mode & 0777);
  EXPECT_EQ(65534u, st.st_gid);
  EXPECT_EQ(0, asNobody({"status"}).exit_code) << "in the group";
  EXPECT_EQ(3, asNobody({"status"}, "daemon").exit_code) << "not in the group";
}

TEST_F(AccessTest, OthersActOnlyOnTheirOwnJobs) {
  start("[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n");
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  std::string roots = submit(*root, "mock/private", R"("client":"payroll")");

  // Their label always carries their user name.
  auto mine = asNobody({"submit", "--client", "batch", "--model", "mock/x", "hello"});
  ASSERT_EQ(0, mine.exit_code) << mine.output;
  std::string own = jobIdOf(mine);
  ASSERT_FALSE(own.empty()) << mine.output;
  auto plain = asNobody({"submit", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, plain.exit_code) << plain.output;
  auto spoof = asNobody({"submit", "--client", "payroll", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, spoof.exit_code) << spoof.output;
  EXPECT_EQ("succeeded", waitTerminal(*root, jobIdOf(spoof)));
  json::Document j = callOk(*root, "job.get", "{\"job_id\":\"" + own + "\"}");
  EXPECT_STREQ("nobody:batch", j["client"].GetString());
  j = callOk(*root, "job.get", "{\"job_id\":\"" + jobIdOf(plain) + "\"}");
  EXPECT_STREQ("nobody", j["client"].GetString());
  j = callOk(*root, "job.get", "{\"job_id\":\"" + jobIdOf(spoof) + "\"}");
  EXPECT_STREQ("nobody:payroll", j["client"].GetString()) << "cannot spend payroll's budget";

  // Another user's job: neither seen, nor cancelled, nor watched.
  auto peek = asNobody({"get", roots});
  EXPECT_EQ(1, peek.exit_code);
  EXPECT_NE(std::string::npos, peek.output.find("another user")) << peek.output;
  EXPECT_EQ(1, asNobody({"cancel", roots}).exit_code);
  EXPECT_EQ(0, asNobody({"get", own}).exit_code);
  auto list = asNobody({"list"});
  ASSERT_EQ(0, list.exit_code) << list.output;
  EXPECT_EQ(std::string::npos, list.output.find(roots)) << list.output;
  EXPECT_NE(std::string::npos, list.output.find(own)) << list.output;
  EXPECT_EQ(1, asNobody({"list", "--client", "payroll"}).exit_code);

  // Administrator methods are refused with -32003 and say why.
  auto budget = asNobody({"budget", "set", "global", "day", "1000"});
  EXPECT_EQ(1, budget.exit_code);
  EXPECT_NE(std::string::npos, budget.output.find("only administrators")) << budget.output;
  EXPECT_EQ(1, asNobody({"usage"}).exit_code);
  EXPECT_EQ(1, asNobody({"pause"}).exit_code) << "the whole queue";
  EXPECT_EQ(0, asNobody({"pause", "--client", "nobody:batch"}).exit_code) << "its own client";
  EXPECT_EQ(0, asNobody({"resume", "--client", "nobody:batch"}).exit_code);
  EXPECT_EQ(1, asNobody({"pause", "--client", "payroll"}).exit_code);
  EXPECT_EQ(1, asNobody({"db", "backup", dir_.file("x.db")}).exit_code);
}

// An idempotency key is the submitting user's own: another user's same key gets a
// job of its own, never the first user's job or its result, and a key submitted
// first by one user does not block another's later submit.
TEST_F(AccessTest, IdempotencyKeysBelongToTheirUser) {
  start("[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n");
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  std::string roots =
      submit(*root, "mock/private", R"("client":"payroll","idempotency_key":"batch:eval:request-1")");
  ASSERT_EQ("succeeded", waitTerminal(*root, roots));

  auto guess = asNobody({"submit", "--idempotency-key", "batch:eval:request-1", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, guess.exit_code) << guess.output;
  const std::string theirs = jobIdOf(guess);
  ASSERT_FALSE(theirs.empty()) << guess.output;
  EXPECT_NE(roots, theirs) << "another user's key must not find root's job: " << guess.output;
  EXPECT_EQ(std::string::npos, guess.output.find("\"deduplicated\":true")) << guess.output;
  auto waited =
      asNobody({"submit", "--wait", "--idempotency-key", "batch:eval:request-1", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, waited.exit_code) << waited.output;
  EXPECT_EQ(std::string::npos, waited.output.find(roots)) << waited.output;
  EXPECT_EQ(theirs, jobIdOf(waited)) << "its own repeat finds its own job: " << waited.output;

  // Submitted first by nobody, the key does not poison root's later submit.
  auto first = asNobody({"submit", "--idempotency-key", "nightly-7", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, first.exit_code) << first.output;
  json::Document later = callOk(*root, "job.submit", submitParams("mock/x", R"("idempotency_key":"nightly-7")"));
  ASSERT_TRUE(later.IsObject() && later.HasMember("deduplicated"));
  EXPECT_FALSE(later["deduplicated"].GetBool());
  EXPECT_NE(jobIdOf(first), std::string(later["job_id"].GetString()));
  json::Document j = callOk(*root, "job.get", "{\"job_id\":\"" + theirs + "\"}");
  EXPECT_STREQ("nobody", j["client"].GetString());
}

TEST_F(AccessTest, TheAdminGroupMakesAnAdministrator) {
  start("[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n[access]\nadmin_group = \"nogroup\"\n");
  auto root = daemon_->connect();
  std::string roots = submit(*root, "mock/private", R"("client":"payroll")");
  EXPECT_EQ(0, asNobody({"get", roots}).exit_code);
  auto labelled = asNobody({"submit", "--client", "payroll", "--model", "mock/x", "hi"});
  ASSERT_EQ(0, labelled.exit_code);
  json::Document j = callOk(*root, "job.get", "{\"job_id\":\"" + jobIdOf(labelled) + "\"}");
  EXPECT_STREQ("payroll", j["client"].GetString());
  EXPECT_EQ(0, asNobody({"budget", "set", "global", "day", "1000"}).exit_code);
}

}  // namespace
}  // namespace llmq::testing
