// store::SettingsStore: small named values the daemon must remember across
// restarts (e.g. which queues an operator paused). Values are JSON text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace llmq::store {

class Database;

class SettingsStore {
 public:
  explicit SettingsStore(Database& db) : db_(db) {}
  Result<std::optional<std::string>> get(std::string_view name);
  Result<void> put(std::string_view name, std::string_view value);

 private:
  Database& db_;
};

}  // namespace llmq::store
