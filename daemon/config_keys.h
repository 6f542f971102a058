// The table of llmqd's plain config keys: one row per `[section] key` of the TOML
// file with its type, bounds or allowed values, default, the Config member it
// lands in, whether SIGHUP applies it, and whether it is a secret. Parsing,
// --check-config, the restart-only check and the copy a reload makes all loop
// over it (daemon/config.cc, daemon/daemon.cc), so adding a key is one row.
// Tables of tables ([[providers]], [[limits.*]], [[routes]], [[prices]],
// [chains], [aliases]) keep their own parsers in daemon/config.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/config.h"

namespace llmq::daemon {

// A key's value in the file's units: integer, number, true/false or string. An
// enum's value is the number of its choice; its name is what the file holds.
using KeyValue = std::variant<int64_t, double, bool, std::string>;

enum class KeyType { kInteger, kNumber, kBool, kString, kEnum };

// One allowed value of an enum key: its name in the file and the number it stands for.
struct KeyChoice {
  const char* name;
  int value;
};

// Where a value lands in Config, in the file's units both ways.
struct KeyAccess {
  KeyValue (*get)(const Config&);
  // Stores a value already checked against the row's type and bounds; returns
  // what is wrong with it ("must be ..."), or "" when it was stored.
  std::string (*set)(Config&, const KeyValue&);
  void (*copy)(Config& to, const Config& from);
  bool (*same)(const Config&, const Config&);
};

// What makes a changed value take effect in a running llmqd: SIGHUP copies the
// kSighup keys into the configuration in force; each other value names the part
// that only a restart changes, as restartOnlyChanges() lists it.
// kKeyPool is no row's: the OPENROUTER_API_KEYS pool comes from the environment.
enum class Reload { kSighup, kSocket, kDatabase, kKeyPool, kApi, kHttp, kMetrics, kIpcLimits, kMock };

struct ConfigKey {
  const char* section;
  const char* name;
  KeyType type;
  double min = 0;  // kInteger, kNumber: the bounds, in the file's units.
  double max = 0;
  std::span<const KeyChoice> choices;  // kEnum: the allowed names (aliases after the first name of a value).
  KeyAccess access;
  const char* default_value;  // As the file would write it (TOML).
  Reload reload = Reload::kSighup;
  bool secret = false;  // Shown masked (a fingerprint) by --check-config.
  // A rule beyond type and bounds: what is wrong with the value, or "".
  std::string (*check)(const KeyValue&) = nullptr;
};

// Every row, in the order --check-config prints them (grouped by section).
std::span<const ConfigKey> configKeys();
const ConfigKey* findConfigKey(std::string_view section, std::string_view name);
// True when some row has this section.
bool isKeySection(std::string_view section);

// What the key's value must be, for an error message: "must be an integer from 1 to 9".
std::string keyExpectation(const ConfigKey& key);
// Checks `value` (already of the row's type) against the row and stores it; returns
// the problem ("must be ..."), or "" when stored.
std::string setKey(const ConfigKey& key, Config& c, const KeyValue& value);
// The effective value as the file would write it, a secret as its fingerprint.
std::string formatKey(const ConfigKey& key, const Config& c);

// "HOST:PORT" on a loopback address into host and port; empty turns it off
// (port -1). Returns what is wrong with `text` ("must be ..."), or "". `what`
// names the listener: "metrics" or "the HTTP front".
std::string parseLoopback(const std::string& text, const char* what, std::string* host, int* port);

// A TOML basic string: `text` quoted, with its quotes and backslashes escaped.
std::string tomlString(std::string_view text);

// Copies every key that SIGHUP applies from `from` into `to`.
void copyReloadable(Config& to, const Config& from);

}  // namespace llmq::daemon
