# cmake/install.cmake: `cmake --install build --prefix P` installs the cpusim command, the
# libraries and their headers, and a package configuration, so another CMake project can
#   find_package(cpusim REQUIRED)   # CMAKE_PREFIX_PATH=P
#   target_link_libraries(app PRIVATE cpusim::harness)   # or cpusim::datagen, cpusim::model ...
# Targets: cpusim::common, isa, emulator, datagen, harness, and model when built with libtorch.
# (The Unicorn cross-checker stays inside the build: its pkg-config targets do not export.)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(cpusim_libs cpusim_common cpusim_isa cpusim_emulator cpusim_datagen cpusim_harness)
if(CPUSIM_WITH_TORCH)
  list(APPEND cpusim_libs cpusim_model)
endif()
foreach(lib ${cpusim_libs})
  string(REPLACE "cpusim_" "" short ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${short})
endforeach()

install(TARGETS ${cpusim_libs} EXPORT cpusimTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cpusim)
install(TARGETS cpusim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(CPUSIM_WITH_TORCH)  # the model commands, which cpusim loads from ../lib/cpusim (cli/)
  install(TARGETS cpusim-torch LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/cpusim)
endif()
foreach(dir common isa emulator datagen harness model)
  install(DIRECTORY ${CPUSIM_ROOT}/${dir} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cpusim
          FILES_MATCHING PATTERN "*.h" PATTERN "*.def")
endforeach()
install(EXPORT cpusimTargets NAMESPACE cpusim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpusim)
configure_package_config_file(${CPUSIM_ROOT}/cmake/cpusimConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cpusimConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpusim)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cpusimConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cpusimConfig.cmake ${CMAKE_BINARY_DIR}/cpusimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cpusim)
