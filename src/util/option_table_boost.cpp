#include "curate/util/option_table_boost.h"

#include <boost/program_options.hpp>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::options {
namespace po = boost::program_options;

namespace {

// "(default: X)" for an entry whose Boost option shows no default.
std::string help_with_default(const Entry& entry) {
  if (entry.required || entry.default_text.empty()) return entry.help;
  return entry.help + " (default: " + entry.default_text + ")";
}

}  // namespace

po::options_description describe(const Group& group, bool include_hidden) {
  po::options_description out(group.caption());
  for (const Entry& entry : group.entries()) {
    if (entry.hidden && !include_hidden) continue;
    const std::string& shown = entry.default_text;
    // Several names for one field: a Boost default under each would overwrite the given value.
    const bool plain = !entry.required && entry.aliases.empty();
    const auto semantic = [&]() -> const po::value_semantic* {
      return std::visit(
          [&](auto field) -> const po::value_semantic* {
            using T = decltype(field);
            if constexpr (std::is_same_v<T, EnumField>) {
              auto* value = po::value<std::string>()->notifier(field.set);
              return plain ? value->default_value(shown) : value;
            } else if constexpr (std::is_same_v<T, bool*>) {
              if (entry.is_switch) return po::bool_switch(field);
              return plain ? po::value(field)->default_value(*field, shown) : po::value(field);
            } else {
              return plain ? po::value(field)->default_value(*field, shown) : po::value(field);
            }
          },
          entry.field);
    };
    out.add_options()(entry.key.c_str(), semantic(), plain ? entry.help.c_str() : help_with_default(entry).c_str());
    for (const std::string& alias : entry.aliases)
      out.add_options()(alias.c_str(), semantic(), ("the same as --" + entry.key + " (older name)").c_str());
  }
  return out;
}

void check_arguments(int argc, const char* const* argv, const po::options_description& desc) {
  for (int i = 1; i < argc; ++i) reject_option_placeholders(argv[i], cat("argument ", i));
  reject_options_as_values(argc, argv, [&](std::string_view name) {
    // An ambiguous name (find_nothrow throws) is left to the parser, which reports it.
    const po::option_description* option = nullptr;
    try {
      option = desc.find_nothrow(std::string(name), false);
    } catch (const po::error&) {
      return false;
    }
    return option != nullptr && option->semantic()->max_tokens() > 0;
  });
}

void check_required(const std::vector<Group>& groups, const po::variables_map& given) {
  for (const Group& group : groups) {
    for (const Entry& entry : group.entries()) {
      if (!entry.required || given.count(entry.key)) continue;
      std::string names = "--" + entry.key;
      bool found = false;
      for (const std::string& alias : entry.aliases) {
        found = found || given.count(alias) > 0;
        names += " (or --" + alias + ")";
      }
      if (!found) throw ConfigError("the option " + names + " is required but missing");
    }
  }
}

}  // namespace curate::options
