// libFuzzer harness: an nn checkpoint (nn::load_checkpoint of a directory
// holding the input as checkpoint.safetensors): its safetensors header and
// "__metadata__" (format, version, options JSON, step, RNG state,
// vocabulary), then the tensors the stored config asks for. The process
// works in a scratch directory holding text.txt, the training text the seed
// checkpoints name (tests/fuzz/seeds/checkpoint_meta).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_file.hpp"
#include "lowrank/nn/train.hpp"

namespace {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    // tmpfs unless TMPDIR says otherwise: on a disk /tmp each input waited on
    // page I/O and the harness ran 5x slower (docs/errors.md).
    const char* tmpdir = std::getenv("TMPDIR");
    const std::filesystem::path base = tmpdir != nullptr
                                           ? std::filesystem::path(tmpdir)
                                           : (access("/dev/shm", W_OK) == 0 ? std::filesystem::path("/dev/shm")
                                                                            : std::filesystem::temp_directory_path());
    const auto d = base / ("lowrank-fuzz-ckpt-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "text.txt") << "the quick brown fox jumps over the lazy dog\n";
    if (::chdir(d.c_str()) != 0) std::abort();
    // A heap copy: the static `dir` is destroyed before this exit handler runs
    // (the handler is registered while `dir` is still being initialised).
    static const std::filesystem::path* const keep = new std::filesystem::path(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*keep, ec);
    });
    return d.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lowrank;
  const std::string& dir = scratch_dir();
  {
    std::ofstream out(dir + "/checkpoint.safetensors", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  return fuzz::expect_refusal_or_success([&] { (void)nn::load_checkpoint(dir); });
}
