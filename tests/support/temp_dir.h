// TempDir: a private temporary directory (short path, so Unix socket paths fit
// in sun_path), removed with its contents when the object goes away.
#pragma once

#include <string>

namespace llmq::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The contents of tests/data/<name> (empty, with a test failure, if unreadable).
std::string readTestData(const std::string& name);

// True if the file at `path` holds the bytes `needle` (false if it cannot be read).
// For tests that prove a secret never reached a file.
bool fileContains(const std::string& path, const std::string& needle);

}  // namespace llmq::testing
