#include "curate/model/gradient_options.h"

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

std::string trim(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

void validate(const GradientOptions& o) {
  if (o.tokens < 1) throw ConfigError(cat("gradients.tokens must be >= 1 (got ", o.tokens, ")"));
  if (o.dim < 1) throw ConfigError(cat("gradients.dim must be >= 1 (got ", o.dim, ")"));
  parse_param_selector(o.params);
}

std::vector<std::string> parse_param_selector(const std::string& selector) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = selector.find(',', start);
    const std::string item = trim(selector.substr(start, comma == std::string::npos ? comma : comma - start));
    if (item.empty()) throw ConfigError("gradients.params '" + selector + "' has an empty item");
    items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const auto& item : items) {
    if ((item == "default" || item == "all") && items.size() > 1) {
      throw ConfigError("gradients.params: '" + item + "' cannot be combined with other names");
    }
  }
  return items;
}

}  // namespace curate::model
