#include "curate/util/option_table.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::options {
namespace {

// First line of the stored text: names the form, so that other text is recognised and refused.
constexpr std::string_view kHeader = "curate_dist fingerprint v2";

template <typename T>
std::string number_text(T value) {
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return error == std::errc() ? std::string(buffer, end) : std::string("?");
}

std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string unescape_value(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      ++i;
      out += value[i] == 'n' ? '\n' : value[i];
    } else {
      out += value[i];
    }
  }
  return out;
}

}  // namespace

std::string value_text(const Field& field) {
  struct Visitor {
    std::string operator()(bool* v) const { return *v ? "true" : "false"; }
    std::string operator()(int* v) const { return number_text(*v); }
    std::string operator()(int64_t* v) const { return number_text(*v); }
    std::string operator()(uint64_t* v) const { return number_text(*v); }
    std::string operator()(double* v) const { return number_text(*v); }
    std::string operator()(std::string* v) const { return *v; }
    std::string operator()(const EnumField& e) const { return e.get(); }
  };
  return std::visit(Visitor{}, field);
}

Group& Group::push(std::string key, Field field, std::string help, Affects affects, bool is_switch) {
  Entry entry;
  entry.key = std::move(key);
  entry.field = std::move(field);
  entry.help = std::move(help);
  entry.affects = affects;
  entry.is_switch = is_switch;
  entry.default_text = value_text(entry.field);
  entries_.push_back(std::move(entry));
  return *this;
}

Group& Group::switch_flag(std::string key, bool& field, std::string help) {
  return push(std::move(key), Field(&field), std::move(help), Affects::kNothing, /*is_switch=*/true);
}

Group& Group::hidden() {
  for (Entry& entry : entries_) entry.hidden = true;
  return *this;
}

Group& Group::required() {
  entries_.back().required = true;
  return *this;
}

Group& Group::alias(std::string name) {
  entries_.back().aliases.push_back(std::move(name));
  return *this;
}

Group& Group::path() {
  entries_.back().is_path = true;
  return *this;
}

void Group::unknown_name(const std::string& key, const std::string& text, const std::string& names) {
  throw ConfigError(cat(key, " = '", text, "' is unknown: use ", names));
}

std::string format_ini(const std::vector<Group>& groups, std::string_view comment) {
  std::string out;
  for (std::size_t start = 0; start < comment.size();) {
    std::size_t end = comment.find('\n', start);
    if (end == std::string_view::npos) end = comment.size();
    out += cat("# ", comment.substr(start, end - start), "\n");
    start = end + 1;
  }
  const auto line = [](const Entry& entry, std::string_view name) {
    std::string value = value_text(entry.field);
    if (entry.is_path && !value.empty()) value = std::filesystem::absolute(value).lexically_normal().string();
    const bool blank_edge = !value.empty() && (std::string_view(" \t").find(value.front()) != std::string_view::npos ||
                                               std::string_view(" \t").find(value.back()) != std::string_view::npos);
    if (value.find_first_of("#\n\r") != std::string::npos || blank_edge)
      return cat("# ", entry.key,
                 ": not written (its value holds a '#', a line break or blanks at an end, which an "
                 "INI line cannot hold)\n");
    return cat(name, " = ", value, "\n");
  };
  std::string sectioned, section;
  for (const Group& group : groups) {
    for (const Entry& entry : group.entries()) {
      if (entry.is_switch) continue;
      const std::size_t dot = entry.key.find('.');
      if (dot == std::string::npos) {
        out += line(entry, entry.key);
        continue;
      }
      const std::string name = entry.key.substr(0, dot);
      if (name != section) sectioned += cat("[", name, "]\n");
      section = name;
      sectioned += line(entry, std::string_view(entry.key).substr(dot + 1));
    }
  }
  return out + sectioned;
}

Fingerprint results_entries(const std::vector<Group>& groups) {
  Fingerprint out;
  for (const Group& group : groups) {
    for (const Entry& entry : group.entries()) {
      if (entry.affects == Affects::kResults) out.push_back({entry.key, value_text(entry.field)});
    }
  }
  return out;
}

std::string format_fingerprint(const Fingerprint& fingerprint) {
  std::string out(kHeader);
  out += '\n';
  for (const Setting& s : fingerprint) out += s.key + "=" + escape(s.value) + "\n";
  return out;
}

Fingerprint parse_fingerprint(std::string_view text) {
  const std::size_t first = text.find('\n');
  if (text.substr(0, first) != kHeader) {
    const bool old = text.find(';') != std::string_view::npos && first == std::string_view::npos;
    throw ConfigError(old ? std::string("its configuration fingerprint is the ';'-joined form of an older curate_dist, "
                                        "which this version cannot compare setting by setting")
                          : std::string("its configuration fingerprint is not one curate_dist writes"));
  }
  Fingerprint out;
  std::size_t start = first + 1;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      throw ConfigError(cat("its configuration fingerprint has a line without '=': '", line, "'"));
    }
    out.push_back({std::string(line.substr(0, equals)), unescape_value(line.substr(equals + 1))});
    start = end + 1;
  }
  return out;
}

std::vector<Change> diff_fingerprints(const Fingerprint& stored, const Fingerprint& wanted) {
  constexpr const char* kAbsent = "(absent)";
  std::map<std::string, std::string> old_values;
  for (const Setting& s : stored) old_values[s.key] = s.value;
  std::vector<Change> changes;
  for (const Setting& s : wanted) {
    const auto found = old_values.find(s.key);
    if (found == old_values.end()) {
      changes.push_back({s.key, kAbsent, s.value});
      continue;
    }
    if (found->second != s.value) changes.push_back({s.key, found->second, s.value});
    old_values.erase(found);
  }
  for (const Setting& s : stored) {  // keys the wanted configuration does not have, in stored order
    if (old_values.count(s.key)) changes.push_back({s.key, s.value, kAbsent});
  }
  return changes;
}

std::string describe_changes(const std::vector<Change>& changes) {
  const auto shown = [](const std::string& value) { return value.empty() ? std::string("''") : escape(value); };
  std::string out;
  for (const Change& c : changes) out += cat("\n  ", c.key, ": ", shown(c.old_value), " -> ", shown(c.new_value));
  return out;
}

std::string explain_difference(std::string_view stored, std::string_view wanted,
                               const std::vector<std::string>& ignored) {
  Fingerprint old_entries, new_entries;
  try {
    old_entries = parse_fingerprint(stored);
    new_entries = parse_fingerprint(wanted);
  } catch (const ConfigError& e) {
    return cat(e.what(), "; rerun with the curate_dist that wrote it");
  }
  std::vector<Change> changes = diff_fingerprints(old_entries, new_entries);
  std::erase_if(changes,
                [&](const Change& c) { return std::find(ignored.begin(), ignored.end(), c.key) != ignored.end(); });
  if (changes.empty()) return "";
  return cat(changes.size(), " setting(s) differ (stored -> this run):", describe_changes(changes),
             "\nrestore these settings to use it");
}

}  // namespace curate::options
