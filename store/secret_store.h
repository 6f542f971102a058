// store::SecretStore: a job's own API key (BYOK), encrypted at rest with
// XSalsa20-Poly1305 (libsodium's crypto_secretbox) under a key kept in a 0600
// file beside the database. The clear key exists only in memory, for the
// attempts that use it; the row is deleted when the job ends (ipc/PROTOCOL.md).
// Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace llmq::store {

class Database;

class SecretStore {
 public:
  // Loads the encryption key from `key_path`, creating it (mode 0600) if missing.
  static Result<std::unique_ptr<SecretStore>> open(Database& db, const std::string& key_path);
  ~SecretStore();

  Result<void> put(int64_t job_id, std::string_view secret);
  // The clear secret, or nullopt when the job has none (or it cannot be decrypted).
  Result<std::optional<std::string>> get(int64_t job_id);
  Result<void> erase(int64_t job_id);

 private:
  SecretStore(Database& db) : db_(db) {}

  Database& db_;
  unsigned char key_[32] = {};
};

// Overwrites `s` with zeros before it is freed.
void wipe(std::string& s);

}  // namespace llmq::store
