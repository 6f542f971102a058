// The boundary between a C library's callback (libuv, libcurl) and our code. An
// exception must not unwind through C frames, so those callbacks are noexcept,
// and one that lets an exception out ends the process through std::terminate
// without a word of where. A callback whose body may throw (in practice
// std::bad_alloc, from a string or a container that grows) runs the body through
// guardCallback, which logs what escaped and where, then takes the way out the
// callback chose: close the connection, fail the transfer or the backup, or, for
// state that cannot be unwound from there, guardCallbackOrAbort.
#pragma once

#include <cstdlib>
#include <exception>

#include "common/log.h"

namespace llmq {

// Logs, at error level, that `where` was cut short by the exception being
// handled; call it from a catch block. Never throws: a line that cannot be
// written (no memory for it) is not written.
inline void logEscapedException(const char* where) noexcept {
  try {
    try {
      throw;
    } catch (const std::exception& e) {
      LOG_ERROR("%s: %s", where, e.what());
    } catch (...) {
      LOG_ERROR("%s: an exception of unknown type", where);
    }
  } catch (...) {
  }
}

// Returns body(); if it throws, logs it as escaping `where` and returns
// on_exception() instead. If that throws too, the process aborts.
template <typename Body, typename OnException>
auto guardCallback(const char* where, Body&& body, OnException&& on_exception) noexcept {
  try {
    return body();
  } catch (...) {
    logEscapedException(where);
  }
  try {
    return on_exception();
  } catch (...) {
    logEscapedException(where);
    std::abort();
  }
}

// Runs body(); if it throws, logs it as escaping `where` and aborts: for the
// callbacks that leave state half-changed when cut short (a job moved in the
// store but not in memory, a connection half-registered), which nothing can
// unwind from there. The store is the truth; the next start recovers from it.
template <typename Body>
void guardCallbackOrAbort(const char* where, Body&& body) noexcept {
  guardCallback(where, body, [] { std::abort(); });
}

}  // namespace llmq
