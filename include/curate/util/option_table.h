// One option table per component: every setting of a plain options struct is named once, with its
// key (`section.name`), help, whether it changes results, and its default (the field's value when the
// table is made from a default-constructed struct). The table drives --help and parsing (the Boost
// adapter, util/option_table_boost.h: command line and INI) and the fingerprint of a result file
// (the entries that change results, as key = value text). No Boost here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace curate::options {

enum class Affects { kNothing, kResults };  // kResults: the entry is part of the fingerprint

// An enum setting: its value names at the edges (CLI, INI, logs, attributes), the enum inside.
struct EnumField {
  std::function<std::string()> get;             // the current value's name
  std::function<void(const std::string&)> set;  // throws ConfigError naming the key and the valid names
  std::string names;                            // "a, b or c" for help and errors
};

using Field = std::variant<bool*, int*, int64_t*, uint64_t*, double*, std::string*, EnumField>;

struct Entry {
  std::string key;  // "score.batch_tokens"
  Field field;      // where the value lives (the struct the table was made for)
  std::string help;
  Affects affects = Affects::kNothing;
  bool hidden = false;               // accepted everywhere, never shown by --help (test.*)
  bool is_switch = false;            // a bool given as a bare flag: `--fresh` (never from INI with a value)
  bool required = false;             // must be given (by its key or an alias): check_required() says which is missing
  bool is_path = false;              // a file or folder: format_ini writes it absolute
  std::vector<std::string> aliases;  // older command-line names of the same setting, named in --help
  std::string default_text;          // the value when the entry was added, as value_text writes it
};

// The value of an entry as text: integers in decimal, doubles shortest round-trip ("0.002"), bools
// "true"/"false", strings and enum names as they are.
std::string value_text(const Field& field);

// A named group of entries ("[score]"), bound to the fields of one struct instance.
class Group {
 public:
  explicit Group(std::string caption) : caption_(std::move(caption)) {}

  template <typename T>
  Group& add(std::string key, T& field, std::string help, Affects affects = Affects::kNothing) {
    return push(std::move(key), Field(&field), std::move(help), affects);
  }
  // An enum with names[i].first <-> names[i].second; `names` must be static (the group keeps a reference).
  template <typename E, std::size_t N>
  Group& add_enum(std::string key, E& field, const std::pair<const char*, E> (&names)[N], std::string help,
                  Affects affects = Affects::kNothing) {
    EnumField e;
    std::string list;
    for (std::size_t i = 0; i < N; ++i) list += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + names[i].first;
    e.names = list;
    e.get = [&field, &names] {
      for (const auto& [name, value] : names) {
        if (value == field) return std::string(name);
      }
      return std::string("?");
    };
    e.set = [&field, &names, key, list](const std::string& text) {
      for (const auto& [name, value] : names) {
        if (text == name) {
          field = value;
          return;
        }
      }
      unknown_name(key, text, list);
    };
    return push(std::move(key), Field(std::move(e)), std::move(help), affects);
  }
  // A value parsed at the edge into a richer type (select.budget: a count or a fraction): `field.get`
  // gives the text as written (help, fingerprint), `field.set` parses it and throws ConfigError.
  Group& add_parsed(std::string key, EnumField field, std::string help, Affects affects = Affects::kNothing) {
    return push(std::move(key), Field(std::move(field)), std::move(help), affects);
  }
  Group& switch_flag(std::string key, bool& field, std::string help);
  Group& hidden();  // marks every entry of the group hidden
  // The last entry added must be given; it has no default.
  Group& required();
  // The last entry added is also accepted as `--name` (an older spelling kept for scripts).
  Group& alias(std::string name);
  // The last entry added names a file or folder (relative to the current folder when not absolute).
  Group& path();

  const std::string& caption() const { return caption_; }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }

 private:
  Group& push(std::string key, Field field, std::string help, Affects affects, bool is_switch = false);
  [[noreturn]] static void unknown_name(const std::string& key, const std::string& text, const std::string& names);
  std::string caption_;
  std::vector<Entry> entries_;
};

// The name of `value` in an enum's name table ("?" when it has none).
template <typename E, std::size_t N>
const char* name_of(E value, const std::pair<const char*, E> (&names)[N]) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return "?";
}

// Every entry of `groups` but the switches (`--fresh`: a choice of one invocation, never an INI key) as
// INI text that Boost's parse_config_file reads back to the same values: `# comment` lines from
// `comment` (one per line), entries without a section (no '.') first, then `[section]` headers and
// `name = value` lines in table order (a section reopened when the table returns to it). Path entries
// (Entry::is_path) are written absolute (std::filesystem::absolute of the current folder), not resolved.
// A value an INI line cannot hold (a '#', which starts a comment, a newline, or leading or trailing
// blanks) is written as a comment naming the key and why; its entry then reads back as its default.
std::string format_ini(const std::vector<Group>& groups, std::string_view comment);

// The fingerprint of a result file: an ordered list of settings that change results.
struct Setting {
  std::string key;
  std::string value;
  bool operator==(const Setting&) const = default;
};
using Fingerprint = std::vector<Setting>;

// The entries of `groups` that change results, in table order.
Fingerprint results_entries(const std::vector<Group>& groups);

// Text form stored in the result file: a header line, then `key=value` per line (a value's
// backslashes and newlines escaped as \\ and \n). parse_fingerprint reads it back; it throws
// ConfigError for text of another form (an older curate_dist's `;`-joined string among them).
std::string format_fingerprint(const Fingerprint& fingerprint);
Fingerprint parse_fingerprint(std::string_view text);

// One difference between a stored and a wanted fingerprint; a side without the key holds "(absent)".
struct Change {
  std::string key;
  std::string old_value;
  std::string new_value;
};
std::vector<Change> diff_fingerprints(const Fingerprint& stored, const Fingerprint& wanted);
// "\n  key: old -> new" per change, for a message ('' shows an empty value).
std::string describe_changes(const std::vector<Change>& changes);

// Why the stored fingerprint text differs from the wanted one, for a refusal: the changed settings
// with their stored and wanted values (skipping the keys in `ignored`), or why the stored text cannot
// be compared (another version's form). Empty when they agree on every key not ignored.
std::string explain_difference(std::string_view stored, std::string_view wanted,
                               const std::vector<std::string>& ignored = {});

}  // namespace curate::options
