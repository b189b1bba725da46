// The Boost.Program_options side of option tables (util/option_table.h): a group's entries as Boost
// options bound to the group's fields, for the command line and INI files alike.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

#include "curate/util/option_table.h"

namespace curate::options {

// Boost options for `group` under its caption: `--key value` (a switch: `--key`), the default shown
// as the table's text. Hidden entries are included only with `include_hidden`. An enum's name is
// checked when Boost's notify() runs (ConfigError naming the key). The bound fields must outlive the
// result; the group need not.
// An entry with aliases (each a Boost option of its own, bound to the same field) or a required one
// gets no Boost default: its default shows in its help text, and a field keeps its value unless given.
boost::program_options::options_description describe(const Group& group, bool include_hidden);

// Checks argv[1..argc) before Boost parses them with `desc`: reject_option_placeholders on each
// argument, and reject_options_as_values (util/strings.h) with desc's options that take a value.
// Throws ConfigError.
void check_arguments(int argc, const char* const* argv, const boost::program_options::options_description& desc);

// Throws ConfigError naming `--key` (and its aliases) for each required entry of `groups` that `given`
// (parsed with describe()'s options) does not hold under any of its names.
void check_required(const std::vector<Group>& groups, const boost::program_options::variables_map& given);

}  // namespace curate::options
