// SecretStore: crypto_secretbox_easy with a random nonce per secret.
#include "store/secret_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kPutSecretSql[] =
    "INSERT OR REPLACE INTO job_secrets (job_id, nonce, ciphertext) VALUES (?1, ?2, ?3)";
constexpr char kGetSecretSql[] = "SELECT nonce, ciphertext FROM job_secrets WHERE job_id = ?1";
constexpr char kEraseSecretSql[] = "DELETE FROM job_secrets WHERE job_id = ?1";

static_assert(crypto_secretbox_KEYBYTES == 32);

}  // namespace

void wipe(std::string& s) {
  if (!s.empty()) {
    sodium_memzero(s.data(), s.size());
  }
  s.clear();
}

Result<std::unique_ptr<SecretStore>> SecretStore::open(Database& db, const std::string& key_path) {
  if (sodium_init() < 0) {
    return makeError(ErrorKind::kInternal, "initialising libsodium failed");
  }
  std::unique_ptr<SecretStore> self(new SecretStore(db));
  int fd = ::open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && ::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
      ::close(fd);
      return makeError(ErrorKind::kIo, "the secret key " + key_path +
                                           " may be read by others and cannot be "
                                           "made private (chmod 600): " +
                                           std::strerror(errno));
    }
    ssize_t n = ::read(fd, self->key_, sizeof self->key_);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof self->key_)) {
      return makeError(ErrorKind::kIo, "reading the secret key " + key_path + ": it is not 32 bytes");
    }
    return self;
  }
  if (errno != ENOENT) {
    return makeError(ErrorKind::kIo, "opening the secret key " + key_path + ": " + std::strerror(errno));
  }
  crypto_secretbox_keygen(self->key_);
  fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return makeError(ErrorKind::kIo, "creating the secret key " + key_path + ": " + std::strerror(errno));
  }
  ssize_t n = ::write(fd, self->key_, sizeof self->key_);
  bool ok = n == static_cast<ssize_t>(sizeof self->key_) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(key_path.c_str());
    return makeError(ErrorKind::kIo, "writing the secret key " + key_path);
  }
  return self;
}

SecretStore::~SecretStore() { sodium_memzero(key_, sizeof key_); }

Result<void> SecretStore::put(int64_t job_id, std::string_view secret) {
  unsigned char nonce[crypto_secretbox_NONCEBYTES];
  randombytes_buf(nonce, sizeof nonce);
  std::string box(secret.size() + crypto_secretbox_MACBYTES, '\0');
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()),
                        reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nonce, key_);
  auto st = db_.statement(kPutSecretSql);
  st.bind(1, job_id);
  sqlite3_bind_blob(st.handle(), 2, nonce, sizeof nonce, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st.handle(), 3, box.data(), static_cast<int>(box.size()), SQLITE_TRANSIENT);
  return st.run();
}

Result<std::optional<std::string>> SecretStore::get(int64_t job_id) {
  auto st = db_.statement(kGetSecretSql);
  st.bind(1, job_id);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  if (!row.value()) {
    return std::optional<std::string>();
  }
  const void* nonce = sqlite3_column_blob(st.handle(), 0);
  int nonce_len = sqlite3_column_bytes(st.handle(), 0);
  const void* box = sqlite3_column_blob(st.handle(), 1);
  int box_len = sqlite3_column_bytes(st.handle(), 1);
  if (nonce == nullptr || box == nullptr || nonce_len != crypto_secretbox_NONCEBYTES ||
      box_len < static_cast<int>(crypto_secretbox_MACBYTES)) {
    return std::optional<std::string>();
  }
  std::string clear(static_cast<size_t>(box_len) - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(clear.data()),
                                 static_cast<const unsigned char*>(box), static_cast<unsigned long long>(box_len),
                                 static_cast<const unsigned char*>(nonce), key_) != 0) {
    return std::optional<std::string>();  // Another key file, or a damaged row.
  }
  return std::optional<std::string>(std::move(clear));
}

Result<void> SecretStore::erase(int64_t job_id) {
  auto st = db_.statement(kEraseSecretSql);
  st.bind(1, job_id);
  return st.run();
}

}  // namespace llmq::store
