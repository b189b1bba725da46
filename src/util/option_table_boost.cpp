#include "curate/util/option_table_boost.h"

#include <boost/program_options.hpp>

namespace curate::options {
namespace po = boost::program_options;

po::options_description describe(const Group& group, bool include_hidden) {
  po::options_description out(group.caption());
  for (const Entry& entry : group.entries()) {
    if (entry.hidden && !include_hidden) continue;
    const std::string& shown = entry.default_text;
    const po::value_semantic* semantic = std::visit(
        [&](auto field) -> const po::value_semantic* {
          using T = decltype(field);
          if constexpr (std::is_same_v<T, EnumField>) {
            return po::value<std::string>()->default_value(shown)->notifier(field.set);
          } else if constexpr (std::is_same_v<T, bool*>) {
            if (entry.is_switch) return po::bool_switch(field);
            return po::value(field)->default_value(*field, shown);
          } else {
            return po::value(field)->default_value(*field, shown);
          }
        },
        entry.field);
    out.add_options()(entry.key.c_str(), semantic, entry.help.c_str());
  }
  return out;
}

}  // namespace curate::options
