#include "curate/results/fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "curate/model/option_tables.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGradientPrefix = "gradients.";

// The files a tokenizer is read from (data/tokenizer_load.cpp, data/prompt.cpp), sorted.
constexpr const char* kTokenizerFiles[] = {"chat_template.jinja", "special_tokens_map.json", "tokenizer.json",
                                           "tokenizer_config.json"};

bool is_tokenizer_file(const std::string& name) {
  return std::find_if(std::begin(kTokenizerFiles), std::end(kTokenizerFiles),
                      [&](const char* t) { return name == t; }) != std::end(kTokenizerFiles);
}

FileHash hash_one(const fs::path& path, const std::string& name, HashCache* cache) {
  FileHash f{name, 0, {}};
  if (cache) {
    f.hash = cache->hash(path);
    f.size = fs::file_size(path);
  } else {
    f.hash = hash_file(path, &f.size);
  }
  return f;
}

bool same_folder(const std::string& a, const std::string& b) {
  std::error_code error;
  return a == b || fs::equivalent(a, b, error);
}

// The tokenizer files of `given` (a folder), or `given` itself as tokenizer.json (a file); a folder
// that is the model's is answered from the model's print.
std::vector<FileHash> tokenizer_print(const std::string& given, const std::string& model,
                                      const std::vector<FileHash>& model_print, HashCache* cache) {
  std::vector<FileHash> print;
  if (same_folder(given, model)) {
    std::copy_if(model_print.begin(), model_print.end(), std::back_inserter(print),
                 [](const FileHash& f) { return is_tokenizer_file(f.name); });
  } else if (fs::is_directory(given)) {
    for (const char* name : kTokenizerFiles) {
      std::error_code error;
      if (fs::is_regular_file(fs::path(given) / name, error))
        print.push_back(hash_one(fs::path(given) / name, name, cache));
    }
  } else {
    print.push_back(hash_one(given, "tokenizer.json", cache));  // named as the loader reads it: a path-free print
  }
  return print;
}

// Runs `hash`, turning a file that cannot be read into a ModelError that names the option.
template <typename F>
auto as_model_error(const std::string& option, const std::string& path, F&& hash) {
  try {
    return hash();
  } catch (const ModelError&) {
    throw;
  } catch (const Error& e) {
    throw ModelError(cat(option, " = '", path, "': cannot fingerprint its files: ", e.what()));
  } catch (const fs::filesystem_error& e) {
    throw ModelError(cat(option, " = '", path, "': cannot fingerprint its files: ", e.what()));
  }
}

struct RoleFiles {
  std::map<std::string, std::string> files;  // name -> "size hash"
};
std::map<std::string, RoleFiles> parse_files(std::string_view text) {
  std::map<std::string, RoleFiles> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string role, name, size, hash;
    if (std::getline(fields, role, '\t') && std::getline(fields, name, '\t') && std::getline(fields, size, '\t') &&
        std::getline(fields, hash)) {
      out[role].files[name] = size + " " + hash;
    }
  }
  return out;
}

// " (files of OPTION that differ: a, b; added: c; removed: d)", or '' when the stored text has none.
std::string changed_files(const std::string& role, const std::string& option, std::string_view stored,
                          std::string_view wanted) {
  if (stored.empty() || wanted.empty()) return "";
  const RoleFiles before = parse_files(stored)[role], after = parse_files(wanted)[role];
  std::string changed, added, removed;
  const auto append = [](std::string& list, const std::string& name) { list += (list.empty() ? "" : ", ") + name; };
  for (const auto& [name, print] : after.files) {
    const auto found = before.files.find(name);
    if (found == before.files.end())
      append(added, name);
    else if (found->second != print)
      append(changed, name);
  }
  for (const auto& [name, print] : before.files) {
    if (!after.files.count(name)) append(removed, name);
  }
  std::string out;
  if (!changed.empty()) out += "files of " + option + " that differ: " + changed;
  if (!added.empty()) out += (out.empty() ? "" : "; ") + std::string("added to ") + option + ": " + added;
  if (!removed.empty()) out += (out.empty() ? "" : "; ") + std::string("missing from ") + option + ": " + removed;
  return out.empty() ? "" : " (" + out + ")";
}

}  // namespace

InputContent hash_inputs(const Options& o, const ContentHash& dataset, HashCache* cache) {
  InputContent c;
  c.model = as_model_error("model.path", o.engine.model, [&] { return folder_print(o.engine.model, cache); });
  c.tokenizer = as_model_error("model.tokenizer", o.run.tokenizer,
                               [&] { return tokenizer_print(o.run.tokenizer, o.engine.model, c.model, cache); });
  if (o.prompt.chat_template.starts_with("file:")) {  // a user's template decides the prompts as the tokenizer's does
    const std::string file = o.prompt.chat_template.substr(5);
    c.tokenizer.push_back(
        as_model_error("data.chat_template", file, [&] { return hash_one(file, "data.chat_template file", cache); }));
  }
  c.has_target = !o.engine.target.empty();
  if (c.has_target)
    c.target = as_model_error("perturb.target", o.engine.target, [&] { return folder_print(o.engine.target, cache); });
  c.dataset = dataset;
  return c;
}

options::Fingerprint content_entries(const InputContent& c) {
  return {{"model.content", print_digest(c.model)},
          {"tokenizer.content", print_digest(c.tokenizer)},
          {"target.content", c.has_target ? print_digest(c.target) : ""},
          {"dataset.content", c.dataset.hex()}};
}

options::Fingerprint fingerprint_entries(const Options& o, const InputContent& content) {
  options::Fingerprint out = content_entries(content);
  out.push_back({"perturb.noise_version", model::kNoiseVersion});
  Options bound = o;  // the tables bind non-const fields; they are only read here
  for (options::Setting& s : options::results_entries(option_groups(bound))) {
    if (!s.key.starts_with(kGradientPrefix)) out.push_back(std::move(s));  // /gradients keeps its own
  }
  return out;
}

std::string gradient_fingerprint(const Options& o) {
  options::Fingerprint out{{"gradients.projection_version", model::kProjectionVersion}};
  Options bound = o;
  for (options::Setting& s : options::results_entries(option_groups(bound))) {
    if (s.key.starts_with(kGradientPrefix)) out.push_back(std::move(s));
  }
  return options::format_fingerprint(out);
}

std::string fingerprint(const Options& o, const InputContent& content) {
  return options::format_fingerprint(fingerprint_entries(o, content));
}

std::string input_files_text(const InputContent& c) {
  std::string out;
  const auto add = [&](const char* role, const std::vector<FileHash>& print) {
    for (const FileHash& f : print) out += cat(role, "\t", f.name, "\t", f.size, "\t", f.hash.hex(), "\n");
  };
  add("model", c.model);
  add("tokenizer", c.tokenizer);
  add("target", c.target);
  return out;
}

std::string explain_difference(std::string_view stored, std::string_view stored_files, std::string_view wanted,
                               std::string_view wanted_files, const std::vector<std::string>& ignored) {
  options::Fingerprint old_entries, new_entries;
  try {
    old_entries = options::parse_fingerprint(stored);
    new_entries = options::parse_fingerprint(wanted);
  } catch (const ConfigError& e) {
    return cat(e.what(), "; rerun with the curate_dist that wrote it");
  }
  std::vector<options::Change> changes = options::diff_fingerprints(old_entries, new_entries);
  std::erase_if(changes, [&](const options::Change& c) {
    return std::find(ignored.begin(), ignored.end(), c.key) != ignored.end();
  });
  if (changes.empty()) return "";
  bool inputs = false;
  for (options::Change& c : changes) {
    static const std::tuple<const char*, const char*, const char*> kRoles[] = {
        {"model.content", "model", "model.path"},
        {"tokenizer.content", "tokenizer", "model.tokenizer"},
        {"target.content", "target", "perturb.target"}};
    for (const auto& [key, role, option] : kRoles) {
      if (c.key == key) c.new_value += changed_files(role, option, stored_files, wanted_files), inputs = true;
    }
    if (c.key == "dataset.content") c.new_value += " (the bytes of data.path differ)", inputs = true;
  }
  return cat(changes.size(), " setting(s) differ (stored -> this run):", options::describe_changes(changes),
             inputs ? "\nthe results were computed from other input files: restore those files and settings to resume"
                    : "\nrestore these settings to resume");
}

}  // namespace curate::service
