#include "agent/health/probe_result_json.hpp"

#include <boost/json.hpp>

namespace guestpulse {

namespace json = boost::json;

std::string probeResultToJson(const ProbeResult& result) {
  json::object details;
  for (const auto& [key, value] : result.details) details[key] = value;
  json::object root{{"state", std::string(toString(result.state))},
                    {"cause", result.cause},
                    {"message", result.message},
                    {"fix", result.fix},
                    {"details", std::move(details)}};
  return json::serialize(root);
}

std::optional<ProbeResult> probeResultFromJson(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const json::object& root = parsed.as_object();
  auto member = [&](std::string_view key) -> std::string {
    const json::value* v = root.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  ProbeResult result;
  const std::string state = member("state");
  if (state == "OK")
    result.state = State::Ok;
  else if (state == "DEGRADED")
    result.state = State::Degraded;
  else if (state == "FAILED")
    result.state = State::Failed;
  else
    return std::nullopt;
  result.cause = member("cause");
  result.message = member("message");
  result.fix = member("fix");
  if (const json::value* details = root.if_contains("details"); details && details->is_object())
    for (const auto& [key, value] : details->get_object())
      if (value.is_string())
        result.details.emplace_back(std::string(key), std::string(value.get_string()));
  return result;
}

}  // namespace guestpulse
