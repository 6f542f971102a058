// Config loading: defaults, then the TOML file, then the command line and the
// environment; and describe(), what --check-config prints. Plain keys are rows of
// daemon/config_keys.cc, the tables of tables have their parsers here. An unknown
// key or a value of the wrong type is an error naming the file and line, so a
// typo never silently does nothing.
#include "daemon/config.h"

#include <sys/stat.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/json.h"
#include "common/schema_check.h"
#include "common/secret.h"
#include "common/text.h"
#include "daemon/config_keys.h"
#include "daemon/paths.h"
#include "ipc/protocol.h"
#include "ipc/socket_path.h"
#include "upstream/base_url.h"

namespace llmq::daemon {
namespace {

struct ConfigError {
  std::string message;
};

std::string where(const std::string& file, const toml::node& node) {
  return file + ":" + std::to_string(node.source().begin.line);
}

std::optional<int64_t> intValue(const toml::node& node) {
  // toml++ also reads a whole float (8.0) as an integer, but it casts before it
  // checks the range, which is undefined for 1e308 or inf: such a float is simply
  // not an integer. (Found by tests/fuzz/fuzz_config.)
  const toml::value<double>* f = node.as_floating_point();
  const bool fits = f == nullptr || std::fabs(f->get()) < 9.2e18;
  return fits ? node.value<int64_t>() : std::nullopt;
}

int64_t getInt(const std::string& file, const std::string& key, const toml::node& node, int64_t min, int64_t max) {
  auto v = intValue(node);
  if (!v || *v < min || *v > max) {
    throw ConfigError{where(file, node) + ": " + key + " must be an integer from " + std::to_string(min) + " to " +
                      std::to_string(max)};
  }
  return *v;
}

double getDouble(const std::string& file, const std::string& key, const toml::node& node, double min, double max) {
  auto v = node.value<double>();
  if (!v || *v < min || *v > max) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " must be a number from %g to %g", min, max);
    throw ConfigError{where(file, node) + ": " + key + buf};
  }
  return *v;
}

std::string getString(const std::string& file, const std::string& key, const toml::node& node) {
  auto v = node.value<std::string>();
  if (!v) {
    throw ConfigError{where(file, node) + ": " + key + " must be a string"};
  }
  return *v;
}

bool getBool(const std::string& file, const std::string& key, const toml::node& node) {
  auto v = node.value<bool>();
  if (!v) {
    throw ConfigError{where(file, node) + ": " + key + " must be true or false"};
  }
  return *v;
}

// A plain key's value as its row's type, or nullopt when the file holds another type.
std::optional<KeyValue> nodeValue(KeyType type, const toml::node& node) {
  switch (type) {
    case KeyType::kInteger:
      if (auto v = intValue(node)) {
        return *v;
      }
      return std::nullopt;
    case KeyType::kNumber:
      if (auto v = node.value<double>()) {
        return *v;
      }
      return std::nullopt;
    case KeyType::kBool:
      if (auto v = node.value<bool>()) {
        return *v;
      }
      return std::nullopt;
    case KeyType::kString:
    case KeyType::kEnum:
      break;
  }
  if (auto v = node.value<std::string>()) {
    return *v;
  }
  return std::nullopt;
}

// `full` ("section.key") from the file into `c` through its row.
void applyKey(Config& c, const ConfigKey& key, const std::string& file, const std::string& full,
              const toml::node& node) {
  std::optional<KeyValue> v = nodeValue(key.type, node);
  const std::string why = v ? setKey(key, c, *v) : keyExpectation(key);
  if (!why.empty()) {
    throw ConfigError{where(file, node) + ": " + full + " " + why};
  }
}

std::vector<std::string> getStrings(const std::string& file, const std::string& key, const toml::node& node) {
  const toml::array* arr = node.as_array();
  std::vector<std::string> out;
  if (arr == nullptr) {
    throw ConfigError{where(file, node) + ": " + key + " must be an array of strings"};
  }
  for (const toml::node& e : *arr) {
    auto v = e.value<std::string>();
    if (!v || v->empty()) {
      throw ConfigError{where(file, e) + ": " + key + " must hold non-empty strings"};
    }
    out.push_back(*v);
  }
  return out;
}

// [[providers]]: more OpenAI-compatible upstreams, matched before OpenRouter.
void applyProviders(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": providers must be written as [[providers]] tables"};
  }
  std::vector<ProviderConfig> added;
  for (const toml::node& entry : *arr) {
    ProviderConfig p;
    p.stream_usage = true;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "providers." + std::string(name.str());
      if (name == "name") {
        p.name = getString(file, key, value);
      } else if (name == "base_url") {
        p.base_url = getString(file, key, value);
      } else if (name == "api_key_env") {
        p.api_key_env = getString(file, key, value);
      } else if (name == "models") {
        p.models = getStrings(file, key, value);
      } else if (name == "stream_usage") {
        p.stream_usage = getBool(file, key, value);
      } else if (name == "responses_api") {
        p.responses_api = getBool(file, key, value);
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    if (p.name.empty() || p.base_url.empty() || p.models.empty()) {
      throw ConfigError{where(file, entry) + ": a provider needs name, base_url and models"};
    }
    if (p.name == "mock" || p.name == "openrouter") {
      throw ConfigError{where(file, entry) + ": the provider name \"" + p.name + "\" is reserved"};
    }
    added.push_back(std::move(p));
  }
  // Configured providers are matched before OpenRouter, which stays last.
  c.providers.insert(c.providers.end() - 1, added.begin(), added.end());
}

// [[prices]]: price overrides, kept in file order (the first match wins).
void applyPrices(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": prices must be written as [[prices]] tables"};
  }
  constexpr double kPerMtok = 1e-6;
  for (const toml::node& entry : *arr) {
    PriceOverride o;
    bool has_prompt = false;
    bool has_completion = false;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "prices." + std::string(name.str());
      if (name == "match") {
        o.match = getString(file, key, value);
      } else if (name == "prompt_usd_per_mtok") {
        o.pricing.prompt = getDouble(file, key, value, 0, 1e6) * kPerMtok;
        has_prompt = true;
      } else if (name == "completion_usd_per_mtok") {
        o.pricing.completion = getDouble(file, key, value, 0, 1e6) * kPerMtok;
        has_completion = true;
      } else if (name == "request_usd") {
        o.pricing.request = getDouble(file, key, value, 0, 1e6);
      } else if (name == "cache_read_usd_per_mtok") {
        o.pricing.cache_read = getDouble(file, key, value, 0, 1e6) * kPerMtok;
      } else if (name == "cache_write_usd_per_mtok") {
        o.pricing.cache_write = getDouble(file, key, value, 0, 1e6) * kPerMtok;
      } else if (name == "context_length") {
        o.context_length = getInt(file, key, value, 1, INT64_C(1000000000));
      } else if (name == "max_completion_tokens") {
        o.max_completion_tokens = getInt(file, key, value, 1, INT64_C(1000000000));
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    if (o.match.empty()) {
      throw ConfigError{where(file, entry) + ": a price needs match (a model id or pattern)"};
    }
    // Both prices are required, so a forgotten key never makes a model free.
    if (!has_prompt || !has_completion) {
      throw ConfigError{where(file, entry) +
                        ": a price needs prompt_usd_per_mtok and "
                        "completion_usd_per_mtok (0 for free)"};
    }
    o.pricing.known = true;
    c.prices.push_back(std::move(o));
  }
}

// [limits]: guard_ms, and [[limits.key]] / [[limits.model]] rules.
void applyLimits(Config& c, const std::string& file, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError{where(file, node) + ": limits must be a table"};
  }
  bool model_rules = false;
  std::vector<LimitRule> rules;
  for (auto&& [name, value] : *table) {
    if (name == "guard_ms") {
      c.limits.guard_ms = getInt(file, "limits.guard_ms", value, 0, 60000);
      continue;
    }
    if (name != "key" && name != "model") {
      throw ConfigError{where(file, value) + ": unknown key \"limits." + std::string(name.str()) + "\""};
    }
    const LimitScope scope = name == "key" ? LimitScope::kKey : LimitScope::kModel;
    model_rules = model_rules || scope == LimitScope::kModel;
    const toml::array* arr = value.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      throw ConfigError{where(file, value) + ": limits." + std::string(name.str()) +
                        " must be written as [[limits." + std::string(name.str()) + "]] tables"};
    }
    for (const toml::node& entry : *arr) {
      LimitRule r;
      r.scope = scope;
      for (auto&& [field, v] : *entry.as_table()) {
        std::string key = "limits." + std::string(name.str()) + "." + std::string(field.str());
        if (field == "match") {
          r.match = getString(file, key, v);
        } else if (field == "rpm") {
          r.rpm = getInt(file, key, v, 0, 100000000);
        } else if (field == "rps") {
          r.rps = getInt(file, key, v, 0, 10000000);
        } else if (field == "tpm") {
          r.tpm = getInt(file, key, v, 0, INT64_C(1000000000000));
        } else if (field == "concurrency") {
          r.concurrency = getInt(file, key, v, 0, 1000000);
        } else {
          throw ConfigError{where(file, v) + ": unknown key \"" + key + "\""};
        }
      }
      if (r.match.empty()) {
        throw ConfigError{where(file, entry) + ": a limit needs match (a key name or model pattern)"};
      }
      if (r.rpm == 0 && r.rps == 0 && r.tpm == 0 && r.concurrency == 0) {
        throw ConfigError{where(file, entry) + ": a limit needs rpm, rps, tpm or concurrency"};
      }
      rules.push_back(std::move(r));
    }
  }
  if (model_rules) {
    c.limits.rules.clear();  // The file's model rules replace the built-in one.
  }
  c.limits.rules.insert(c.limits.rules.end(), rules.begin(), rules.end());
}

// True for a name that is a chain or a route reference rather than a model.
bool isReference(std::string_view name) {
  return name.rfind(kChainPrefix, 0) == 0 || name.rfind(kRoutePrefix, 0) == 0;
}

bool hasWildcard(std::string_view name) { return name.find_first_of("*?") != std::string_view::npos; }

// [aliases]: NAME-or-PATTERN = "concrete/model-id". toml++ keeps a table's keys
// sorted, not in file order, and the first matching pattern must win, so the
// entries are put back in the order of their lines.
void applyAliases(Config& c, const std::string& file, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError{where(file, node) + ": aliases must be a table of \"name\" = \"model\" entries"};
  }
  struct Placed {
    toml::source_position at;
    ModelAlias alias;
  };
  std::vector<Placed> placed;
  for (auto&& [name, value] : *table) {
    const std::string key = "aliases.\"" + std::string(name.str()) + "\"";
    if (value.is_table()) {
      // `gpt-4.1 = ...` unquoted is a dotted key: a nested table, not an alias.
      throw ConfigError{where(file, value) + ": " + key +
                        " is a table; quote alias names that hold dots (\"gpt-4.1\" = \"...\")"};
    }
    std::string model = getString(file, key, value);
    if (name.str().empty() || isReference(name.str())) {
      throw ConfigError{where(file, value) + ": " + key +
                        ": an alias name must be a model name or pattern, not empty, chain: or route:"};
    }
    if (model.empty() || hasWildcard(model) || isReference(model)) {
      throw ConfigError{where(file, value) + ": " + key +
                        " must name a concrete model id (no * or ?, not a chain: or route:), not \"" + model +
                        "\""};
    }
    placed.push_back(Placed{value.source().begin, ModelAlias{std::string(name.str()), std::move(model)}});
  }
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
  });
  for (Placed& p : placed) {
    c.aliases.push_back(std::move(p.alias));
  }
}

// [[routes]] response_format: a JSON object in a string, which must be a
// response_format whose check llmqd runs as a request's (common/schema_check.h),
// so that a route's default can never be what refuses its jobs.
std::string routeResponseFormat(const std::string& file, const std::string& key, const toml::node& value) {
  const std::string text = getString(file, key, value);
  json::Document request;
  request.SetObject();
  json::Document format;
  std::string error;
  if (!json::parse(format, text, &error) || !format.IsObject() || json::member(format, "type") == nullptr) {
    throw ConfigError{where(file, value) + ": " + key +
                      " must be a JSON object with a \"type\" in a string, e.g. '{\"type\": \"json_object\"}'" +
                      (error.empty() ? "" : " (" + error + ")")};
  }
  request.AddMember("response_format", json::Value(format, request.GetAllocator()), request.GetAllocator());
  if (Result<std::optional<OutputCheck>> check = outputCheckOf(JobKind::kChat, request); !check) {
    throw ConfigError{where(file, value) + ": " + key + ": " + check.error().message};
  }
  return json::toString(request["response_format"]);
}

// [[routes]]: routing rules, in file order, with unique names.
// A weighted route's weights: positive finite numbers, at most 1e6 each (the
// draw is over their sum).
std::vector<double> routeWeights(const std::string& file, const std::string& key, const toml::node& value) {
  const toml::array* arr = value.as_array();
  if (arr == nullptr) {
    throw ConfigError{where(file, value) + ": " + key + " must be a list of numbers"};
  }
  std::vector<double> weights;
  for (const toml::node& w : *arr) {
    const std::optional<double> v = w.value<double>();
    if (!v || !(*v > 0) || *v > 1e6) {
      throw ConfigError{where(file, w) + ": " + key + " must hold numbers above 0 and at most 1000000"};
    }
    weights.push_back(*v);
  }
  return weights;
}

void applyRoutes(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": routes must be written as [[routes]] tables"};
  }
  std::map<std::string, int64_t> defined_at;  // Name -> the line of its [[routes]].
  for (const toml::node& entry : *arr) {
    RouteRule r;
    bool has_models = false;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "routes." + std::string(name.str());
      if (name == "name") {
        r.name = getString(file, key, value);
      } else if (name == "models") {
        r.models = getStrings(file, key, value);
        has_models = true;
        std::set<std::string_view> seen;
        for (const std::string& m : r.models) {
          if (isReference(m)) {
            throw ConfigError{where(file, value) + ": " + key + " lists models (or aliases), not \"" + m + "\""};
          }
          if (!seen.insert(m).second) {
            throw ConfigError{where(file, value) + ": " + key + " lists \"" + m + "\" twice"};
          }
        }
      } else if (name == "response_format") {
        r.response_format = routeResponseFormat(file, key, value);
      } else if (name == "system_prompt") {
        r.system_prompt = getString(file, key, value);
      } else if (name == "strategy") {
        std::string v = getString(file, key, value);
        if (!parseRouteStrategy(v, &r.strategy)) {
          throw ConfigError{where(file, value) + ": " + key +
                            " must be ordered, cost-optimized, round-robin, random, weighted, least-used, fastest "
                            "or most-reliable, not \"" +
                            v + "\""};
        }
      } else if (name == "weights") {
        r.weights = routeWeights(file, key, value);
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    const int64_t line = entry.source().begin.line;
    if (r.name.empty()) {
      throw ConfigError{where(file, entry) + ": a route needs a name (what jobs give as \"route\")"};
    }
    if (r.name.size() > ipc::kMaxNameBytes) {
      throw ConfigError{where(file, entry) + ": the route name \"" + r.name + "\" is longer than " +
                        std::to_string(ipc::kMaxNameBytes) + " bytes"};
    }
    if (!has_models || r.models.empty()) {
      throw ConfigError{where(file, entry) + ": route \"" + r.name + "\" needs a non-empty models list"};
    }
    if ((r.strategy == RouteStrategy::kWeighted) != !r.weights.empty() ||
        (!r.weights.empty() && r.weights.size() != r.models.size())) {
      throw ConfigError{where(file, entry) + ": route \"" + r.name +
                        "\": a weighted route needs weights, one per model, and only a weighted route has them"};
    }
    if (auto [it, added] = defined_at.emplace(r.name, line); !added) {
      throw ConfigError{where(file, entry) + ": route \"" + r.name + "\" is already defined at line " +
                        std::to_string(it->second)};
    }
    c.routes.push_back(std::move(r));
  }
}

// toml++ bounds nested arrays and inline tables (TOML_MAX_NESTED_VALUES, 256) but
// not dotted keys and table headers: `a.a.a...` 200,000 parts deep overflowed the
// stack while its tables were built. No key of ours has more than three parts, so
// a line with more than kMaxTomlDots dots outside strings and comments is refused
// before toml++ reads the file.
constexpr int kMaxTomlDots = 128;

// The 1-based number of the first line with too many dots, or 0.
size_t lineWithTooManyDots(std::string_view text) {
  enum class In { kCode, kBasic, kLiteral, kMultiBasic, kMultiLiteral, kComment };
  In in = In::kCode;
  size_t line = 1;
  int dots = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char ch = text[i];
    if (ch == '\n') {
      ++line;
      dots = 0;
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) {
        in = In::kCode;  // Single-line strings end here (unterminated: toml++ says so).
      }
      continue;
    }
    const bool triple = i + 2 < n && text[i + 1] == ch && text[i + 2] == ch;
    switch (in) {
      case In::kCode:
        if (ch == '#') {
          in = In::kComment;
        } else if (ch == '"' || ch == '\'') {
          in = triple ? (ch == '"' ? In::kMultiBasic : In::kMultiLiteral) : (ch == '"' ? In::kBasic : In::kLiteral);
          i += triple ? 2 : 0;
        } else if (ch == '.' && ++dots > kMaxTomlDots) {
          return line;
        }
        break;
      case In::kBasic:
      case In::kMultiBasic:
        if (ch == '\\' && i + 1 < n && text[i + 1] != '\n') {
          ++i;  // An escaped character, never the end of the string.
        } else if (ch == '"' && (in == In::kBasic || triple)) {
          i += in == In::kBasic ? 0 : 2;
          in = In::kCode;
        }
        break;
      case In::kLiteral:
      case In::kMultiLiteral:
        if (ch == '\'' && (in == In::kLiteral || triple)) {
          i += in == In::kLiteral ? 0 : 2;
          in = In::kCode;
        }
        break;
      case In::kComment:
        break;
    }
  }
  return 0;
}

toml::table parseTomlFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return toml::parse_file(file);  // Says why it cannot be read.
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  if (const size_t line = lineWithTooManyDots(content); line != 0) {
    throw ConfigError{file + ":" + std::to_string(line) + ": more than " + std::to_string(kMaxTomlDots) +
                      " dots outside strings on one line (keys and table headers nest at most that deep)"};
  }
  return toml::parse(content, file);
}

// [chains]: NAME = ["model", ...], used as model "chain:NAME".
void applyChains(Config& c, const std::string& file, const toml::node& node) {
  const toml::table* chains = node.as_table();
  if (chains == nullptr) {
    throw ConfigError{where(file, node) + ": chains must be a table of model lists"};
  }
  for (auto&& [name, models] : *chains) {
    std::vector<std::string> list = getStrings(file, "chains." + std::string(name.str()), models);
    if (list.empty()) {
      throw ConfigError{where(file, models) + ": chain \"" + std::string(name.str()) + "\" is empty"};
    }
    c.chains[std::string(name.str())] = std::move(list);
  }
}

// The sections with parsers of their own; every other section is plain keys,
// each a row of the table in daemon/config_keys.cc.
using SectionParser = void (*)(Config&, const std::string& file, const toml::node&);
constexpr std::pair<std::string_view, SectionParser> kOwnParsers[] = {
    {"providers", applyProviders}, {"limits", applyLimits}, {"prices", applyPrices},
    {"aliases", applyAliases},     {"routes", applyRoutes}, {"chains", applyChains}};

void applySection(Config& c, const std::string& file, std::string_view section, const toml::node& node) {
  for (const auto& [name, parse] : kOwnParsers) {
    if (section == name) {
      parse(c, file, node);
      return;
    }
  }
  if (!isKeySection(section)) {
    throw ConfigError{where(file, node) + ": unknown section or key \"" + std::string(section) + "\""};
  }
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError{where(file, node) + ": \"" + std::string(section) + "\" must be a table"};
  }
  for (auto&& [name, value] : *table) {
    const std::string full = std::string(section) + "." + std::string(name.str());
    const ConfigKey* key = findConfigKey(section, name.str());
    if (key == nullptr) {
      throw ConfigError{where(file, value) + ": unknown key \"" + full + "\""};
    }
    applyKey(c, *key, file, full, value);
  }
}

void applyFile(Config& c, const std::string& file) {
  toml::table root;
  try {
    root = parseTomlFile(file);
  } catch (const toml::parse_error& e) {
    throw ConfigError{file + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description())};
  }
  for (auto&& [section, node] : root) {
    applySection(c, file, section.str(), node);
  }
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

ProviderConfig openRouterDefaults() {
  ProviderConfig p;
  p.name = "openrouter";
  p.openrouter = true;
  p.stream_usage = false;  // OpenRouter always sends usage (with cost) at the end.
  p.responses_api = true;  // OpenRouter serves POST /responses.
  p.models = {"*"};
  p.base_url = env("OPENROUTER_BASE_URL");
  if (p.base_url.empty()) {
    p.base_url = "https://openrouter.ai/api/v1";
  }
  p.title = "llmq";
  return p;
}

// Reads each provider's key from its environment variable. OpenRouter's comes
// from OPENROUTER_API_KEY or its alias OPEN_ROUTER_API_KEY unless configured.
void resolveKeys(Config& c) {
  for (ProviderConfig& p : c.providers) {
    if (p.openrouter && p.api_key_env.empty()) {
      p.api_key_env = !env("OPENROUTER_API_KEY").empty() || env("OPEN_ROUTER_API_KEY").empty()
                          ? "OPENROUTER_API_KEY"
                          : "OPEN_ROUTER_API_KEY";
    }
    if (!p.api_key_env.empty()) {
      p.api_key = env(p.api_key_env.c_str());
    }
    while (!p.base_url.empty() && p.base_url.back() == '/') {
      p.base_url.pop_back();
    }
  }
}

// Why `url` cannot be an upstream's base URL, or nullptr when it can: http:// or
// https:// (any case) with a host, and no whitespace or control characters. curl
// is held to those two schemes anyway; refusing others at start says so at once
// instead of failing every attempt.
const char* malformedBaseUrl(std::string_view url) {
  for (char ch : url) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f) {
      return "holds whitespace or a control character";
    }
  }
  const size_t rest = upstream::hasScheme(url, "https://") ? 8 : upstream::hasScheme(url, "http://") ? 7 : 0;
  if (rest == 0) {
    return "must start with http:// or https://";
  }
  if (rest == url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#') {
    return "names no host";
  }
  return nullptr;
}

// Why `key` cannot be an API key, or nullptr when it can: a key is printable
// ASCII without whitespace, quotes, brackets, braces, commas or backslashes, so a
// pasting mistake (a JSON array missing its "]", a quoted value) is caught at start
// instead of reaching the upstream as `Bearer ["sk-or-...`.
const char* malformedKey(std::string_view key) {
  if (key.empty()) {
    return "is empty";
  }
  if (key.size() > 1024) {
    return "is longer than 1024 bytes";
  }
  for (char ch : key) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f) {
      return "holds whitespace, a control character or a non-ASCII byte";
    }
    if (std::string_view("\"'`[]{}(),\\").find(ch) != std::string_view::npos) {
      return "holds a quote, a bracket, a comma or a backslash";
    }
  }
  return nullptr;
}

// OPENROUTER_API_KEYS: a JSON array of strings, or a comma list (whitespace
// around each element and empty elements are ignored). Anything else, or any
// malformed key, refuses to start; the message names the variable, never a key.
Result<std::vector<std::string>> parseKeyPool(std::string_view text, const char* var) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::vector<std::string> keys;
  if (!text.empty() && text.front() == '[') {
    json::Document doc;
    if (!json::parse(doc, text, nullptr) || !doc.IsArray()) {
      return makeError(ErrorKind::kInvalidArgument,
                       std::string(var) + " starts with \"[\" but is not a JSON array of strings");
    }
    for (const auto& v : doc.GetArray()) {
      if (!v.IsString()) {
        return makeError(ErrorKind::kInvalidArgument,
                         std::string(var) + ": element " + std::to_string(keys.size() + 1) + " is not a string");
      }
      keys.emplace_back(json::view(v));
    }
  } else {
    for (const std::string& k : json::parseStringList(std::string(text))) {
      keys.push_back(k);
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (const char* why = malformedKey(keys[i])) {
      return makeError(ErrorKind::kInvalidArgument,
                       std::string(var) + ": key " + std::to_string(i + 1) + " " + why + " (the key is not shown)");
    }
  }
  return keys;
}

Result<void> applyEnvironment(Config& c) {
  auto pool = parseKeyPool(env("OPENROUTER_API_KEYS"), "OPENROUTER_API_KEYS");
  if (!pool) {
    return pool.takeError();
  }
  c.openrouter_pool = std::move(*pool);
  for (const ProviderConfig& p : c.providers) {
    if (const char* why = p.api_key.empty() ? nullptr : malformedKey(p.api_key)) {
      return makeError(ErrorKind::kInvalidArgument,
                       p.api_key_env + " (the key of provider " + p.name + ") " + why + " (the key is not shown)");
    }
  }
  c.preferred_models = json::parseStringList(env("OPENROUTER_PREFERRED_MODELS"));
  if (std::string t = env("OPENROUTER_TIMEOUT_MS"); !t.empty()) {
    char* end = nullptr;
    long long ms = std::strtoll(t.c_str(), &end, 10);
    if (*end != '\0' || ms <= 0) {
      return makeError(ErrorKind::kInvalidArgument, "OPENROUTER_TIMEOUT_MS must be a positive integer");
    }
    c.default_timeout_ms = ms;
  }
  if (std::string r = env("OPENROUTER_MAX_RETRIES"); !r.empty()) {
    char* end = nullptr;
    long n = std::strtol(r.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > 99) {
      return makeError(ErrorKind::kInvalidArgument, "OPENROUTER_MAX_RETRIES must be from 0 to 99");
    }
    c.default_max_attempts = static_cast<int>(n) + 1;
  }
  if (std::string b = env("OPENROUTER_COST_BUDGET_USD"); !b.empty()) {
    char* end = nullptr;
    double usd = std::strtod(b.c_str(), &end);
    if (*end != '\0' || !std::isfinite(usd) || usd <= 0) {
      return makeError(ErrorKind::kInvalidArgument,
                       "OPENROUTER_COST_BUDGET_USD must be a positive number of US dollars, not \"" + b + "\"");
    }
    c.cost_budget_usd = usd;
  }
  return {};
}

std::string tomlStrings(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    out += (i > 0 ? ", " : "") + tomlString(list[i]);
  }
  return out + "]";
}

}  // namespace

namespace {

constexpr std::pair<RouteStrategy, const char*> kStrategyNames[] = {
    {RouteStrategy::kOrdered, "ordered"},        {RouteStrategy::kCostOptimized, "cost-optimized"},
    {RouteStrategy::kRoundRobin, "round-robin"}, {RouteStrategy::kRandom, "random"},
    {RouteStrategy::kWeighted, "weighted"},      {RouteStrategy::kLeastUsed, "least-used"},
    {RouteStrategy::kFastest, "fastest"},        {RouteStrategy::kMostReliable, "most-reliable"},
};

}  // namespace

const char* routeStrategyName(RouteStrategy strategy) {
  for (const auto& [s, name] : kStrategyNames) {
    if (s == strategy) {
      return name;
    }
  }
  return "ordered";
}

bool parseRouteStrategy(std::string_view name, RouteStrategy* out) {
  for (const auto& [s, n] : kStrategyNames) {
    if (name == n) {
      *out = s;
      return true;
    }
  }
  return false;
}

Result<Config> loadConfig(const CommandLine& cli) {
  Config c;
  c.providers.push_back(openRouterDefaults());
  const char* env_socket = std::getenv("LLMQ_SOCKET");
  c.socket_explicit = cli.socket.has_value() || (env_socket != nullptr && *env_socket != '\0');
  c.socket_path = cli.socket ? *cli.socket : ipc::daemonSocketPath();
  c.db_path = cli.db ? *cli.db : defaultDbPath();
  c.socket_mode = c.socket_path.rfind("/run/llmq/", 0) == 0 ? 0660 : 0600;

  const char* env_config = std::getenv("LLMQ_CONFIG");
  bool config_explicit = cli.config.has_value() || (env_config != nullptr && *env_config != '\0');
  std::string config_path = cli.config ? *cli.config : defaultConfigPath();
  try {
    if (fileExists(config_path)) {
      applyFile(c, config_path);
      c.config_path = config_path;
    } else if (config_explicit) {
      return makeError(ErrorKind::kInvalidArgument, "config file " + config_path + " does not exist");
    }
  } catch (const ConfigError& e) {
    return makeError(ErrorKind::kInvalidArgument, e.message);
  }
  if (cli.log_level && !log::parseLevel(*cli.log_level, &c.log_level)) {
    return makeError(ErrorKind::kInvalidArgument, "--log-level must be error, warning, notice, info or debug");
  }
  if (cli.http && cli.http->empty() && c.api.port < 0) {
    c.api.port = ApiConfig::kDefaultPort;
  } else if (cli.http && !cli.http->empty()) {
    if (std::string why = parseLoopback(*cli.http, "the HTTP front", &c.api.host, &c.api.port); !why.empty()) {
      return makeError(ErrorKind::kInvalidArgument, "--http " + why);
    }
  }
  resolveKeys(c);
  for (const ProviderConfig& p : c.providers) {
    if (const char* why = malformedBaseUrl(p.base_url)) {
      const std::string setting = p.openrouter ? std::string("OPENROUTER_BASE_URL (or [openrouter] base_url)")
                                               : "base_url of provider \"" + p.name + "\"";
      return makeError(ErrorKind::kInvalidArgument, setting + " " + why);
    }
  }
  if (auto r = applyEnvironment(c); !r) {
    return r.takeError();
  }
  if (c.max_pending_output_hard_bytes < c.max_pending_output_bytes) {
    c.max_pending_output_hard_bytes = c.max_pending_output_bytes;
  }
  // A page of job.list must fit in what a connection may have pending.
  c.max_answer_bytes = std::min(c.max_answer_bytes, c.max_pending_output_bytes / 2);
  if (c.retry_cap_ms < c.retry_base_ms) {
    return makeError(ErrorKind::kInvalidArgument, "retry.cap_ms must not be below retry.base_ms");
  }
  return c;
}

namespace {

// Every plain key, section by section in the table's order. A value that is not
// the default says so; a secret shows its fingerprint.
void describeKeys(std::ostream& o, const Config& c) {
  std::string_view section;
  for (const ConfigKey& key : configKeys()) {
    if (section != key.section) {
      section = key.section;
      o << "\n[" << section << "]\n";
    }
    const std::string value = formatKey(key, c);
    o << key.name << " = " << value;
    if (key.secret && value != "\"\"") {
      o << "  # masked";
    } else if (!key.secret && value != key.default_value) {
      o << "  # default " << key.default_value;
    }
    o << "\n";
  }
}

void describeLimits(std::ostream& o, const Config& c) {
  o << "\n[limits]\nguard_ms = " << c.limits.guard_ms << "\n";
  for (const LimitRule& r : c.limits.rules) {
    o << "\n[[limits." << limitScopeName(r.scope) << "]]\nmatch = " << tomlString(r.match);
    for (auto [name, v] :
         {std::pair{"rpm", r.rpm}, {"rps", r.rps}, {"tpm", r.tpm}, {"concurrency", r.concurrency}}) {
      if (v > 0) {
        o << "\n" << name << " = " << v;
      }
    }
    o << "\n";
  }
}

// [[providers]]; OpenRouter's settings are the [openrouter] keys.
void describeProviders(std::ostream& o, const Config& c) {
  for (const ProviderConfig& p : c.providers) {
    if (!p.openrouter) {
      o << "\n[[providers]]\nname = " << tomlString(p.name) << "\nbase_url = " << tomlString(p.base_url)
        << "\napi_key_env = " << tomlString(p.api_key_env) << "\nmodels = " << tomlStrings(p.models)
        << "\nstream_usage = " << (p.stream_usage ? "true" : "false")
        << "\nresponses_api = " << (p.responses_api ? "true" : "false") << "\n";
    }
  }
}

// [chains], [aliases] and [[routes]].
void describeModelNames(std::ostream& o, const Config& c) {
  if (!c.chains.empty()) {
    o << "\n[chains]\n";
    for (const auto& [name, models] : c.chains) {
      o << tomlString(name) << " = " << tomlStrings(models) << "\n";
    }
  }
  if (!c.aliases.empty()) {
    o << "\n[aliases]  # an exact name first, else the first pattern that matches\n";
    for (const ModelAlias& a : c.aliases) {
      o << tomlString(a.match) << " = " << tomlString(a.model) << "\n";
    }
  }
  for (const RouteRule& r : c.routes) {
    o << "\n[[routes]]\nname = " << tomlString(r.name) << "\nmodels = " << tomlStrings(r.models)
      << "\nstrategy = \"" << routeStrategyName(r.strategy) << "\"\n";
    if (!r.weights.empty()) {
      o << "weights = [";
      for (size_t i = 0; i < r.weights.size(); ++i) {
        o << (i > 0 ? ", " : "") << decimal(r.weights[i]);
      }
      o << "]\n";
    }
    if (!r.response_format.empty()) {
      o << "response_format = " << tomlString(r.response_format) << "\n";
    }
    if (!r.system_prompt.empty()) {
      o << "system_prompt = " << tomlString(r.system_prompt) << "\n";
    }
  }
}

void describePrices(std::ostream& o, const Config& c) {
  constexpr double kPerMtok = 1e6;
  for (const PriceOverride& p : c.prices) {
    o << "\n[[prices]]\nmatch = " << tomlString(p.match)
      << "\nprompt_usd_per_mtok = " << p.pricing.prompt * kPerMtok
      << "\ncompletion_usd_per_mtok = " << p.pricing.completion * kPerMtok
      << "\nrequest_usd = " << p.pricing.request
      << "\ncache_read_usd_per_mtok = " << p.pricing.cache_read * kPerMtok
      << "\ncache_write_usd_per_mtok = " << p.pricing.cache_write * kPerMtok << "\n";
    if (p.context_length > 0) {
      o << "context_length = " << p.context_length << "\n";
    }
    if (p.max_completion_tokens > 0) {
      o << "max_completion_tokens = " << p.max_completion_tokens << "\n";
    }
  }
}

// What came from the environment alone: the keys (as fingerprints), the key pool,
// and the job defaults the OPENROUTER_* variables set. OPENROUTER_BASE_URL and
// OPENROUTER_TIMEOUT_MS are in [openrouter] base_url and [http] attempt_timeout_s.
void describeEnvironment(std::ostream& o, const Config& c) {
  o << "\n# from the environment\n";
  for (const ProviderConfig& p : c.providers) {
    if (!p.api_key_env.empty()) {
      o << "# " << p.api_key_env << " (the key of " << p.name
        << "): " << (p.api_key.empty() ? "not set" : "set: " + fingerprint(p.api_key)) << "\n";
    }
  }
  o << "# OPENROUTER_API_KEYS: " << (c.openrouter_pool.empty() ? "not set" : "");
  for (size_t i = 0; i < c.openrouter_pool.size(); ++i) {
    o << (i > 0 ? ", " : "") << fingerprint(c.openrouter_pool[i]);
  }
  o << "\n# OPENROUTER_PREFERRED_MODELS: "
    << (c.preferred_models.empty() ? "not set" : tomlStrings(c.preferred_models))
    << "\n# OPENROUTER_MAX_RETRIES: " << c.default_max_attempts - 1 << " (a job that does not say makes up to "
    << c.default_max_attempts << " attempts)\n# OPENROUTER_COST_BUDGET_USD: ";
  if (c.cost_budget_usd) {
    o << *c.cost_budget_usd << " (a global monthly budget)\n";
  } else {
    o << "not set\n";
  }
}

}  // namespace

std::string describe(const Config& c) {
  std::ostringstream o;
  o << "# effective llmqd configuration\n"
    << "# config file: " << (c.config_path.empty() ? "(none, defaults)" : c.config_path) << "\n"
    << "# socket: " << c.socket_path << (c.socket_explicit ? "" : " (unless systemd passes one)") << "\n"
    << "# database: " << c.db_path << "\n";
  describeKeys(o, c);
  describeLimits(o, c);
  describeProviders(o, c);
  describeModelNames(o, c);
  describePrices(o, c);
  describeEnvironment(o, c);
  return o.str();
}

}  // namespace llmq::daemon
