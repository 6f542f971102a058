#!/usr/bin/env python3
"""The dependency rule of docs/architecture.md, checked on every #include of the
tree (tests excluded):

- common/ includes nothing of ours; ipc/, http/, store/ and upstream/ include
  only common/ (and the generated llmq/version.h) besides themselves;
- inside daemon/, the wings stand turn/ < policy/ < jobs/ < api/: a wing includes
  only wings below it. Of daemon/'s own files (the process and the composition
  root), every wing may read the configuration (config.h, config_*.h) and
  paths.h; only api/, the top wing, sees the rest (the Engine it works through,
  the backup it starts), and nothing includes daemon.h but main.cc;
- the configuration (daemon/config.h, config.cc and the config_*.{h,cc} beside
  them) includes no wing: every wing reads it, so the settings the policies
  take are declared in daemon/config_types.h, not the other way round;
- the wings reach the job queue, usage and budgets through the store seam,
  store/store.h: they include none of the SQLite backend's classes behind it
  (SEAM_BACKEND), which only daemon/'s own files (the composition root, the
  process, retention) may.

Prints each include that breaks the rule, with its file and line, and exits 1
when there is one."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
LOWER = {"common": {"common"}, "ipc": {"common", "ipc", "llmq"}, "http": {"common", "http", "llmq"},
         "store": {"common", "store", "llmq"}, "upstream": {"common", "upstream", "llmq"}}
WINGS = ["turn", "policy", "jobs", "api"]
SEAM_BACKEND = {
    "store/sqlite_store.h", "store/job_store.h", "store/usage_store.h", "store/budget_store.h",
    "store/model_figures_store.h",
}


def sources():
    for top in list(LOWER) + ["daemon"]:
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if name.endswith((".h", ".cc")):
                    yield os.path.relpath(os.path.join(dirpath, name), ROOT)


def wing_of(path):
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "daemon" and parts[1] in WINGS else None


def is_root(path):
    parts = path.split("/")
    return len(parts) == 2 and parts[0] == "daemon"


def root_visible(wing, target):
    name = target.split("/")[1]
    if name in ("config.h", "paths.h") or (name.startswith("config_") and name.endswith(".h")):
        return True
    return wing == "api" and name != "daemon.h"
def is_config(path):
    name = os.path.basename(path)
    return os.path.dirname(path) == "daemon" and (name.startswith("config.") or name.startswith("config_"))


def main():
    broken = []
    for path in sources():
        top = path.split("/")[0]
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                target_top = target.split("/")[0]
                if top in LOWER:
                    if target_top in {"common", "ipc", "http", "store", "upstream", "daemon", "clients", "llmq"} \
                            and target_top not in LOWER[top]:
                        broken.append("%s:%d includes %s (%s/ may include only %s)"
                                      % (path, number, target, top, ", ".join(sorted(LOWER[top]))))
                    continue
                here, there = wing_of(path), wing_of(target)
                if here and target in SEAM_BACKEND:
                    broken.append("%s:%d includes %s (daemon/%s/ uses the store through store/store.h)"
                                  % (path, number, target, here))
                if here and is_root(target) and not root_visible(here, target):
                    broken.append("%s:%d includes %s (daemon/%s/ may read only the configuration and "
                                  "paths.h of daemon/'s own files)" % (path, number, target, here))
                if target == "daemon/daemon.h" and path not in ("daemon/main.cc", "daemon/daemon.cc"):
                    broken.append("%s:%d includes daemon/daemon.h (only main.cc runs the Daemon)" % (path, number))
                if is_config(path) and there:
                    broken.append("%s:%d includes %s (the configuration includes no wing of daemon/)"
                                  % (path, number, target))
                    continue
                if here and there and WINGS.index(there) > WINGS.index(here):
                    broken.append("%s:%d includes %s (daemon/%s/ may not include daemon/%s/, above it)"
                                  % (path, number, target, here, there))
    for b in broken:
        print(b)
    if broken:
        print("%d includes break the layering of docs/architecture.md" % len(broken))
        return 1
    print("layering holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
