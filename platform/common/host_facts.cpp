#include "platform/host_facts.hpp"

namespace guestpulse::platform {

const char* toString(FirewallAction action) {
  switch (action) {
    case FirewallAction::Drop:
      return "DROP";
    case FirewallAction::Reject:
      return "REJECT";
    case FirewallAction::Redirect:
      return "REDIRECT";
  }
  return "?";
}

std::string FirewallFinding::describe() const {
  std::string text = tool + " " + table + " " + chain + ": " + ruleText;
  if (!exemptedBy.empty()) text += " (after a conditional ACCEPT: " + exemptedBy + ")";
  return text;
}

const char* toString(RouteStatus status) {
  switch (status) {
    case RouteStatus::Found:
      return "found";
    case RouteStatus::NoRoute:
      return "no route";
    case RouteStatus::Blackhole:
      return "blackhole";
    case RouteStatus::Unreachable:
      return "unreachable";
    case RouteStatus::Prohibited:
      return "prohibited";
    case RouteStatus::LookupFailed:
      return "lookup failed";
  }
  return "?";
}

const char* toString(Reach reach) {
  switch (reach) {
    case Reach::No:
      return "no";
    case Reach::Maybe:
      return "maybe";
    case Reach::Yes:
      return "yes";
  }
  return "?";
}

}  // namespace guestpulse::platform
