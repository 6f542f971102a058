#include "common/memory.h"

#include <malloc.h>

// Defined by tcmalloc (gperftools' C API) when llmqd is linked with it; null
// otherwise. A weak reference keeps every other binary free of the dependency.
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace llmq {

void releaseFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    ::malloc_trim(0);
  }
}

}  // namespace llmq
