// SettingsStore: two statements over the settings table.
#include "store/settings_store.h"

#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kGetSettingSql[] = "SELECT value FROM settings WHERE name = ?1";
constexpr char kPutSettingSql[] =
    "INSERT INTO settings (name, value) VALUES (?1, ?2) "
    "ON CONFLICT(name) DO UPDATE SET value = excluded.value";

}  // namespace

Result<std::optional<std::string>> SettingsStore::get(std::string_view name) {
  auto st = db_.statement(kGetSettingSql);
  st.bindStatic(1, name);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<std::string>(st.string(0)) : std::nullopt;
}

Result<void> SettingsStore::put(std::string_view name, std::string_view value) {
  auto st = db_.statement(kPutSettingSql);
  st.bindStatic(1, name).bindStatic(2, value);
  return st.run();
}

}  // namespace llmq::store
