# curate_select_report: outputs of the selection stage (summary JSON, HTML report, ShareGPT export).
# Included from src/select/CMakeLists.txt; paths are relative to this file so it can be included anywhere.
add_library(curate_select_report STATIC
  ${CMAKE_CURRENT_LIST_DIR}/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report_common.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report_run.cpp
  ${CMAKE_CURRENT_LIST_DIR}/report_sources.cpp
  ${CMAKE_CURRENT_LIST_DIR}/export.cpp
  ${CMAKE_CURRENT_LIST_DIR}/svg.cpp)
target_include_directories(curate_select_report PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(curate_select_report
  PUBLIC curate_util curate_data nlohmann_json::nlohmann_json)
