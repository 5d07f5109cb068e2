// Where the tests find the repository, their data and the CLI they run.
//
// The paths live in one generated source (test_paths.cpp in the build tree,
// written by tests/CMakeLists.txt), not in compile definitions: a build tree
// copied to another checkout then rebuilds that one file, instead of keeping
// test objects that would run the original checkout's CLI.
#pragma once

namespace lowrank::test {

const char* source_dir();      ///< The repository's root.
const char* test_data_dir();   ///< tests/data.
const char* build_cli_path();  ///< The CLI this build made.

}  // namespace lowrank::test

#define LOWRANK_SOURCE_DIR ::lowrank::test::source_dir()
#define LOWRANK_TEST_DATA_DIR ::lowrank::test::test_data_dir()
#define LOWRANK_BUILD_CLI_PATH ::lowrank::test::build_cli_path()
