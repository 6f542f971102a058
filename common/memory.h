// releaseFreeMemory: gives memory the allocator holds in its free lists back to
// the kernel. llmqd links tcmalloc (see README, "Libraries, and why"); tests and
// sanitizer builds run on glibc's malloc. Whichever allocator the process runs
// on is the one asked.
#pragma once

namespace llmq {

void releaseFreeMemory();

}  // namespace llmq
