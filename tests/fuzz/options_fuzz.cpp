// curate_dist's options: the real option table (src/config/options.cpp, compiled into this harness;
// it needs no libtorch) parsing an INI file and command-line arguments, then validate() and
// the fingerprint, as curate_dist's main does. Only curate::Error (ConfigError) may come out.
//   input: arguments separated by '\n', a NUL byte, then the INI text (no NUL: all INI)
#include <string>
#include <vector>

#include "curate/config/options.h"
#include "curate/results/fingerprint.h"
#include "curate/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  curate::fuzz::Input input(data, size);
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"curate_dist"};
  if (all.find('\0') != std::string_view::npos) {
    curate::fuzz::Input head(data, size);
    const std::string_view arguments = head.until(std::string_view("\0", 1));
    std::size_t start = 0;
    while (start <= arguments.size()) {
      const std::size_t end = std::min(arguments.find('\n', start), arguments.size());
      const std::string arg(arguments.substr(start, end - start));
      if (arg == "--help" || arg == "-h") return 0;  // prints the table and returns false: nothing to check
      if (!arg.empty()) args.push_back(arg);
      start = end + 1;
    }
    input.until(std::string_view("\0", 1));
  }
  const auto ini = curate::fuzz::write_scratch("run.ini", input.rest());
  args.push_back("--config");
  args.push_back(ini.string());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  curate::service::Options options;
  try {
    if (!curate::service::parse_options(static_cast<int>(args.size()), argv.data(), options)) return 0;
    curate::service::validate(options);
  } catch (const curate::ConfigError&) {
    return 0;
  }
  CURATE_FUZZ_CHECK(!options.engine.model.empty() && !options.run.dataset.empty());
  CURATE_FUZZ_CHECK(options.pass.unit_examples > 0);
  CURATE_FUZZ_CHECK(!options.run.selected.empty() && !options.run.tokenizer.empty());
  // The stored text reads back as the same entries (values may hold any byte but NUL, newlines too).
  const curate::service::InputContent content;  // no files are read here: the entries' form is checked
  const std::string text = curate::service::fingerprint(options, content);
  CURATE_FUZZ_CHECK(curate::options::parse_fingerprint(text) == curate::service::fingerprint_entries(options, content));
  CURATE_FUZZ_CHECK(curate::options::explain_difference(text, text).empty());
  return 0;
}
