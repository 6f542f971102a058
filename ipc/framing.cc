// LineFramer is a template on its callback and lives in framing.h; this file
// keeps the translation unit so the build lists one file per concern.
#include "ipc/framing.h"
