// The Boost.Program_options side of option tables (util/option_table.h): a group's entries as Boost
// options bound to the group's fields, for the command line and INI files alike.
#pragma once

#include <boost/program_options/options_description.hpp>

#include "curate/util/option_table.h"

namespace curate::options {

// Boost options for `group` under its caption: `--key value` (a switch: `--key`), the default shown
// as the table's text. Hidden entries are included only with `include_hidden`. An enum's name is
// checked when Boost's notify() runs (ConfigError naming the key). The bound fields must outlive the
// result; the group need not.
boost::program_options::options_description describe(const Group& group, bool include_hidden);

}  // namespace curate::options
