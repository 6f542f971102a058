# Runs at install time (install(SCRIPT) from systemd/CMakeLists.txt), after the
# variables LLMQ_* were set there. CMAKE_INSTALL_PREFIX is the prefix of this
# installation (cmake --install --prefix, or CPack's packaging prefix) and
# file(INSTALL) adds $DESTDIR, so the units name the path llmqd really has.

function(llmq_dest out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

llmq_dest(LLMQD_DIR "${LLMQ_INSTALL_BINDIR}")
set(LLMQD_PATH "${LLMQD_DIR}/llmqd")
llmq_dest(LLMQ_DOCDIR "${LLMQ_INSTALL_DOCDIR}")
llmq_dest(unit_dir "${LLMQ_SYSTEMD_UNIT_DIR}")
llmq_dest(user_unit_dir "${LLMQ_SYSTEMD_USER_UNIT_DIR}")

# One work directory per destination: two installs of one build tree (a test
# installing to a temporary root while a package is built) never share files.
string(MD5 tag "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(work "${LLMQ_UNIT_WORK_DIR}/${tag}")
configure_file("${LLMQ_UNIT_TEMPLATE_DIR}/llmqd.service.in" "${work}/system/llmqd.service" @ONLY)
configure_file("${LLMQ_UNIT_TEMPLATE_DIR}/user/llmqd.service.in" "${work}/user/llmqd.service" @ONLY)

file(INSTALL DESTINATION "${unit_dir}" TYPE FILE
     FILES "${work}/system/llmqd.service" "${LLMQ_UNIT_TEMPLATE_DIR}/llmqd.socket")
file(INSTALL DESTINATION "${user_unit_dir}" TYPE FILE
     FILES "${work}/user/llmqd.service" "${LLMQ_UNIT_TEMPLATE_DIR}/user/llmqd.socket")

# /etc/llmq: the admin's files. Installed when missing, kept when present, so a
# reinstall from source never undoes local edits (dpkg handles them as conffiles).
if(LLMQ_INSTALL_SYSCONF)
  foreach(pair "llmqd.toml.example:llmqd.toml:644" "llmqd.env.example:llmqd.env:600")
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 src)
    list(GET pair 1 name)
    list(GET pair 2 mode)
    if(EXISTS "$ENV{DESTDIR}${LLMQ_SYSCONF_DIR}/${name}")
      message(STATUS "Keeping: $ENV{DESTDIR}${LLMQ_SYSCONF_DIR}/${name} (it exists)")
      continue()
    endif()
    if(mode STREQUAL "600")
      set(perms OWNER_READ OWNER_WRITE)  # Secrets: root only.
    else()
      set(perms OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    endif()
    list(APPEND CMAKE_ABSOLUTE_DESTINATION_FILES "${LLMQ_SYSCONF_DIR}/${name}")
    file(INSTALL DESTINATION "${LLMQ_SYSCONF_DIR}" TYPE FILE PERMISSIONS ${perms}
         RENAME "${name}" FILES "${LLMQ_UNIT_TEMPLATE_DIR}/${src}")
  endforeach()
endif()
