# The llmq .deb, built by CPack from the install rules (docs/operations.md,
# "The .deb"). scripts/package.sh builds and checks it:
#   cmake -S . -B build && ninja -C build && (cd build && cpack -G DEB)
# Whatever the build's CMAKE_INSTALL_PREFIX, the package installs under /usr; the
# units are filled in at install time, so they name /usr/bin/llmqd.
#
# The maintainer scripts in packaging/debian/ do what debhelper's
# dh_installsysusers, dh_installtmpfiles and dh_installsystemd would: create the
# user, create the directories, enable llmqd.socket and llmqd.service without
# starting them on a first install, restart a running llmqd on upgrade.

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "llmq")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "llmq maintainers <llmq@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "durable, rate-limited job queue for LLM chat completions")
# The summary above is the synopsis line; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "llmqd is a local daemon that gives every program on a machine one durable,
budget-aware, rate-limited job queue in front of OpenRouter and other
OpenAI-compatible chat-completions APIs. Programs submit jobs over a Unix
socket (JSON-RPC); llmqd keeps them in SQLite, runs them by priority with fair
share between clients, retries, falls back between models, enforces budgets,
records tokens and cost, and streams events back.
.
This package contains llmqd, the llmq command-line client, the systemd units
(system and per-user, with socket activation) and the documentation.")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")  # llmq_<version>-1_<arch>.deb
# Library dependencies from the binaries (dpkg-shlibdeps, as ${shlibs:Depends}):
# libuv1, libcurl4, libsqlite3-0, libsodium23, libsystemd0, libtomlplusplus3,
# libtcmalloc-minimal4, ...
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst runs systemd-sysusers; bookworm has it standalone too.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3")
set(CPACK_STRIP_FILES ON)
# /usr in the package, whatever the build's own prefix. DESTDIR staging, so that
# the absolute /etc/llmq lands in the package as /etc/llmq.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

set(_llmq_deb_dir "${CMAKE_CURRENT_BINARY_DIR}/packaging/debian")
if(LLMQ_INSTALL_SYSCONF)
  # Conffiles: dpkg keeps the admin's edits on upgrade and asks about conflicts.
  file(WRITE "${_llmq_deb_dir}/conffiles"
       "${LLMQ_SYSCONF_DIR}/llmqd.toml\n${LLMQ_SYSCONF_DIR}/llmqd.env\n")
else()
  file(REMOVE "${_llmq_deb_dir}/conffiles")
endif()
# Copied so that their mode is 0755 whatever the checkout did to it.
foreach(_script postinst prerm postrm)
  configure_file("${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/${_script}" "${_llmq_deb_dir}/${_script}"
                 COPYONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                           GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_llmq_deb_dir}/postinst;${_llmq_deb_dir}/prerm;${_llmq_deb_dir}/postrm")
if(LLMQ_INSTALL_SYSCONF)
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${_llmq_deb_dir}/conffiles")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
