#include "detail/jinja.h"

#include <ctime>
#include <minja/minja.hpp>
#include <nlohmann/json.hpp>

namespace curate::data::detail {
namespace {

// strftime of 26 Jul 2024, 00:00:00 (a Friday, day 208 of a leap year) in the C locale.
std::string fixed_strftime(const std::string& format) {
  std::tm day{};
  day.tm_year = 2024 - 1900;
  day.tm_mon = 6;
  day.tm_mday = 26;
  day.tm_wday = 5;
  day.tm_yday = 207;
  std::string out(format.size() * 8 + 64, '\0');
  const std::size_t n = std::strftime(out.data(), out.size(), format.c_str(), &day);
  out.resize(n);
  return out;
}

}  // namespace

JinjaTemplate::JinjaTemplate(const std::string& source, std::map<std::string, std::string> special_tokens)
    : root_(minja::Parser::parse(
          source, minja::Options{.trim_blocks = true, .lstrip_blocks = true, .keep_trailing_newline = false})),
      special_tokens_(std::move(special_tokens)) {}

std::string JinjaTemplate::render(const std::vector<JinjaMessage>& messages, bool add_generation_prompt) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  for (const auto& [name, value] : special_tokens_) variables[name] = value;
  variables["messages"] = std::move(list);
  variables["tools"] = nullptr;
  variables["documents"] = nullptr;
  variables["add_generation_prompt"] = add_generation_prompt;
  auto context = minja::Context::make(minja::Value(variables));
  context->set("strftime_now", minja::Value::callable([](const std::shared_ptr<minja::Context>&,
                                                         minja::ArgumentsValue& args) -> minja::Value {
                 args.expectArgs("strftime_now", {1, 1}, {0, 0});
                 return minja::Value(fixed_strftime(args.args[0].get<std::string>()));
               }));
  return root_->render(context);
}

}  // namespace curate::data::detail
