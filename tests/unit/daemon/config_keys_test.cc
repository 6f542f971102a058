// Tests for daemon/config_keys: the key table agrees with what llmqd runs with,
// --check-config prints every key (secrets masked) and the environment, SIGHUP
// copies exactly the keys the table marks, and docs/configuration.md and
// systemd/llmqd.toml.example list every key of the table and no other.
#include "daemon/config_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace llmq::daemon {
namespace {

class ConfigKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LLMQ_SOCKET", "LLMQ_DB", "LLMQ_CONFIG", "OPENROUTER_API_KEY", "OPEN_ROUTER_API_KEY",
                          "OPENROUTER_BASE_URL", "OPENROUTER_TIMEOUT_MS", "OPENROUTER_MAX_RETRIES",
                          "OPENROUTER_API_KEYS", "OPENROUTER_PREFERRED_MODELS", "OPENROUTER_COST_BUDGET_USD"}) {
      ::unsetenv(v);
    }
  }
  Result<Config> load(const std::string& toml) {
    std::string path = dir_.file("llmqd.toml");
    std::ofstream(path) << toml;
    CommandLine cli;
    cli.config = path;
    cli.socket = dir_.file("s.sock");
    return loadConfig(cli);
  }
  llmq::testing::TempDir dir_;
};

std::string full(const ConfigKey& k) { return std::string(k.section) + "." + k.name; }

TEST_F(ConfigKeysTest, TheTableDefaultsAreWhatLlmqdRunsWith) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  std::set<std::string> seen;
  std::set<std::string> sections_done;
  std::string section;
  for (const ConfigKey& k : configKeys()) {
    EXPECT_TRUE(seen.insert(full(k)).second) << full(k) << " has two rows";
    EXPECT_EQ(k.default_value, formatKey(k, *c)) << full(k);
    EXPECT_EQ(&k, findConfigKey(k.section, k.name));
    if (section != k.section) {
      // --check-config prints a section once: its rows stand together.
      EXPECT_TRUE(sections_done.insert(section).second) << section << " is split";
      section = k.section;
    }
  }
  EXPECT_EQ(nullptr, findConfigKey("daemon", "max_infligth"));
}

TEST_F(ConfigKeysTest, CheckConfigShowsEveryKeyAndTheEnvironmentWithSecretsMasked) {
  ::setenv("OPENROUTER_API_KEYS", "sk-or-v1-testpool01,sk-or-v1-testpool02", 1);
  ::setenv("OPENROUTER_PREFERRED_MODELS", "a/one", 1);
  ::setenv("OPENROUTER_MAX_RETRIES", "2", 1);
  auto c = load("[api]\ntoken = \"tok-0123456789abcdef\"\n[daemon]\nlog_level = \"debug\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const std::string text = describe(*c);
  for (const ConfigKey& k : configKeys()) {
    const size_t at = text.find(std::string("\n[") + k.section + "]\n");
    ASSERT_NE(std::string::npos, at) << k.section << "\n" << text;
    EXPECT_NE(std::string::npos, text.find(std::string("\n") + k.name + " = ", at)) << full(k) << "\n" << text;
  }
  EXPECT_EQ(std::string::npos, text.find("tok-0123456789abcdef")) << text;
  EXPECT_NE(std::string::npos, text.find("token = \"tok-0…cdef\"  # masked")) << text;
  EXPECT_NE(std::string::npos, text.find("log_level = \"debug\"  # default \"info\"")) << text;
  EXPECT_EQ(std::string::npos, text.find("sk-or-v1-testpool01")) << text;
  EXPECT_NE(std::string::npos, text.find("# OPENROUTER_API_KEYS: sk-or…ol01, sk-or…ol02\n")) << text;
  EXPECT_NE(std::string::npos, text.find("# OPENROUTER_API_KEY (the key of openrouter): not set\n")) << text;
  EXPECT_NE(std::string::npos, text.find("# OPENROUTER_PREFERRED_MODELS: [\"a/one\"]\n")) << text;
  EXPECT_NE(std::string::npos, text.find("# OPENROUTER_MAX_RETRIES: 2 ")) << text;
}

TEST_F(ConfigKeysTest, BadValuesSayWhatTheRowAllows) {
  auto level = load("[daemon]\nlog_level = \"loud\"\n");
  ASSERT_FALSE(level.ok());
  EXPECT_NE(std::string::npos,
            level.error().message.find(
                ":2: daemon.log_level must be \"error\", \"warning\", \"notice\", \"info\" or \"debug\""))
      << level.error().message;
  auto warn = load("[daemon]\nlog_level = \"warn\"\n");
  ASSERT_TRUE(warn.ok()) << "an alias of warning";
  EXPECT_EQ(log::Level::kWarning, warn->log_level);
  auto range = load("[daemon]\nmax_inflight = 0\n");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(std::string::npos,
            range.error().message.find(":2: daemon.max_inflight must be an integer from 1 to 100000"))
      << range.error().message;
  auto type = load("[cache]\n\nttl_s = \"long\"\n");
  ASSERT_FALSE(type.ok());
  EXPECT_NE(std::string::npos, type.error().message.find(":3: cache.ttl_s must be a number from 0 to 3.1536e+07"))
      << type.error().message;
  auto listen = load("[metrics]\nlisten = \"0.0.0.0:9464\"\n");
  ASSERT_FALSE(listen.ok());
  EXPECT_NE(std::string::npos, listen.error().message.find(":2: metrics.listen must be a loopback address"))
      << listen.error().message;
  auto token = load("[api]\ntoken = \"short\"\n");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(std::string::npos, token.error().message.find(":2: api.token must be at least 16 characters"));
  auto mode = load("[ipc]\nsocket_mode = \"rw\"\n");
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(std::string::npos, mode.error().message.find(":2: ipc.socket_mode must be an octal mode"));
}

TEST_F(ConfigKeysTest, SighupCopiesTheReloadableKeysAndNamesTheRest) {
  auto running = load("");
  ASSERT_TRUE(running.ok());
  auto next = load(
      "[access]\nmax_user_priority = 5\n[circuit]\nfailures = 9\n[daemon]\nlog_level = \"debug\"\n"
      "[http]\nmax_event_bytes = 4096\nattempt_timeout_s = 0\n[ipc]\nmax_answer_bytes = 8192\n"
      "[metrics]\nlisten = \"127.0.0.1:9464\"\n");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ("[http], [metrics], [ipc] limits", restartOnlyChanges(*running, *next));
  Config applied = *running;
  copyReloadable(applied, *next);
  EXPECT_EQ(5, applied.max_user_priority);
  EXPECT_EQ(9, applied.circuit.failures);
  EXPECT_EQ(log::Level::kDebug, applied.log_level);
  EXPECT_FALSE(applied.default_timeout_ms.has_value());
  EXPECT_EQ(running->http.max_event_bytes, applied.http.max_event_bytes) << "a restart applies it";
  EXPECT_EQ(running->max_answer_bytes, applied.max_answer_bytes);
  EXPECT_EQ(-1, applied.metrics_port);
  EXPECT_EQ("[http], [metrics], [ipc] limits", restartOnlyChanges(applied, *next));
}

// ---------------------------------------------------------------------------
// The documentation and the sample

// The sections parsed by their own functions in daemon/config.cc, and their keys.
const std::map<std::string, std::set<std::string>> kOwnSections = {
    {"limits", {"guard_ms"}},
    {"limits.key", {"match", "rpm", "rps", "tpm", "concurrency"}},
    {"limits.model", {"match", "rpm", "rps", "tpm", "concurrency"}},
    {"providers", {"name", "base_url", "api_key_env", "models", "stream_usage", "responses_api"}},
    {"routes", {"name", "models", "strategy", "response_format", "system_prompt"}},
    {"prices",
     {"match", "prompt_usd_per_mtok", "completion_usd_per_mtok", "request_usd", "cache_read_usd_per_mtok",
      "cache_write_usd_per_mtok", "context_length", "max_completion_tokens"}},
    {"chains", {}},  // Names of the user's choosing.
    {"aliases", {}},
};

std::string readSource(const std::string& path) {
  std::ifstream in(std::string(LLMQ_SOURCE_DIR) + "/" + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "section" -> {key -> value as written} for the `key = value` lines of a TOML
// text whose lines may be commented out ("#key = 1", "# key = 1"); lines that
// start with a blank continue a comment.
std::map<std::string, std::map<std::string, std::string>> tomlKeys(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == ' ') {
      continue;
    }
    size_t at = line[0] == '#' ? 1 : 0;
    at += at == 1 && line.size() > 1 && line[1] == ' ' ? 1 : 0;
    const std::string rest = line.substr(at);
    if (rest.rfind('[', 0) == 0) {
      const size_t begin = rest.find_first_not_of('[');
      section = rest.substr(begin, rest.find(']') - begin);
      out[section];
      continue;
    }
    const size_t eq = rest.find(" = ");
    if (eq == std::string::npos || rest.empty() ||
        !(std::islower(static_cast<unsigned char>(rest[0])) || rest[0] == '"')) {
      continue;
    }
    std::string value = rest.substr(eq + 3);
    const size_t comment = value.find("  #");
    value = value.substr(0, comment == std::string::npos ? value.size() : comment);
    value.erase(value.find_last_not_of(' ') + 1);
    out[section][rest.substr(0, eq)] = value;
  }
  return out;
}

// The ```toml blocks of a Markdown text.
std::string tomlBlocks(const std::string& markdown) {
  std::string out;
  bool in = false;
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("```", 0) == 0) {
      in = !in && line == "```toml";
      continue;
    }
    out += in ? line + "\n" : "";
  }
  return out;
}

// Numbers compare as numbers ("0.50" is "0.5"), everything else as written.
bool sameValue(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a);
  const double y = std::strtod(b.c_str(), &end_b);
  return a == b || (!a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0' && x == y);
}

void expectListsTheTable(const std::string& name,
                         const std::map<std::string, std::map<std::string, std::string>>& keys,
                         bool with_defaults) {
  for (const ConfigKey& k : configKeys()) {
    auto section = keys.find(k.section);
    const bool listed = section != keys.end() && section->second.count(k.name) > 0;
    EXPECT_TRUE(listed) << full(k) << " is missing from " << name;
    if (listed && with_defaults) {
      EXPECT_TRUE(sameValue(k.default_value, section->second.at(k.name)))
          << name << " gives " << full(k) << " = " << section->second.at(k.name) << ", the default is "
          << k.default_value;
    }
  }
  for (const auto& [section, entries] : keys) {
    auto own = kOwnSections.find(section);
    if (own == kOwnSections.end()) {
      EXPECT_TRUE(isKeySection(section)) << name << " has a section [" << section << "] llmqd does not know";
    }
    for (const auto& [key, value] : entries) {
      const bool known = own != kOwnSections.end() ? own->second.empty() || own->second.count(key) > 0
                                                   : findConfigKey(section, key) != nullptr;
      EXPECT_TRUE(known) << name << " lists " << section << "." << key << ", which llmqd does not know";
    }
  }
}

TEST(ConfigDocsTest, TheSampleListsEveryKeyWithItsDefault) {
  const std::string sample = readSource("systemd/llmqd.toml.example");
  ASSERT_FALSE(sample.empty());
  auto keys = tomlKeys(sample);
  expectListsTheTable("systemd/llmqd.toml.example", keys, true);
  for (const auto& [section, names] : kOwnSections) {
    if (section == "limits.model") {
      continue;  // The same fields as [[limits.key]], where the sample shows them all.
    }
    for (const std::string& key : names) {
      EXPECT_TRUE(keys[section].count(key)) << section << "." << key << " is missing from the sample";
    }
  }
}

TEST(ConfigDocsTest, TheConfigurationPageListsEveryKey) {
  const std::string doc = tomlBlocks(readSource("docs/configuration.md"));
  ASSERT_FALSE(doc.empty());
  expectListsTheTable("docs/configuration.md", tomlKeys(doc), false);
}

}  // namespace
}  // namespace llmq::daemon
