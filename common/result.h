// Result<T>: a value or an Error, the error channel of everything that runs on
// the event loop, where exceptions are not allowed. An Error says what
// we were doing and on what, e.g. "binding unix socket: /run/llmq/llmqd.sock: ...".
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace llmq {

// The broad cause of an error; callers map it to a protocol code at the boundary.
enum class ErrorKind {
  kInvalidArgument,  // Untrusted input was malformed or out of range.
  kNotFound,
  kInvalidState,  // The operation does not fit the object's current state.
  kStorage,       // SQLite failed (I/O, corruption, busy).
  kStorageFull,   // SQLite reported SQLITE_FULL: the disk or page limit is reached.
  kIo,            // A system call failed.
  kInternal,      // A broken invariant we chose to report rather than abort on.
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design.
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design.

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& takeError() {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design.

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(!ok());
    return *error_;
  }
  Error&& takeError() {
    assert(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

inline Error makeError(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

}  // namespace llmq
