#include "tests/fake_mds/gce_render.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <regex>

namespace guestpulse::fake {
namespace {

bool isNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct TypeRule {
  std::regex path;
  GceValueType type;
};

// From GCE's recursive output: ids, MTUs and disk indexes are numbers; scopes, aliases,
// DNS servers and forwarded IPs are arrays; tags are JSON even as plain text.
const std::vector<TypeRule>& typeRules() {
  static const std::vector<TypeRule> rules = {
      {std::regex("instance/id"), GceValueType::Number},
      {std::regex("project/numeric-project-id"), GceValueType::Number},
      {std::regex("instance/network-interfaces/[0-9]+/mtu"), GceValueType::Number},
      {std::regex("instance/disks/[0-9]+/index"), GceValueType::Number},
      {std::regex("instance/tags"), GceValueType::Json},
      {std::regex("instance/service-accounts/[^/]+/(scopes|aliases)"), GceValueType::Lines},
      {std::regex("instance/network-interfaces/[0-9]+/(dns-servers|forwarded-ips)"),
       GceValueType::Lines},
  };
  return rules;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "machine-type" -> "machineType"
std::string camelCase(std::string_view name) {
  std::string out;
  bool up = false;
  for (char c : name) {
    if (c == '-') {
      up = true;
      continue;
    }
    out.push_back(up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    up = false;
  }
  return out;
}

// User-defined keys keep their names: anything below attributes/ or guest-attributes/,
// and service accounts, which are named by their email.
bool keepsNames(std::string_view dir) {
  while (!dir.empty()) {
    std::size_t slash = dir.find('/');
    std::string_view part = dir.substr(0, slash);
    if (part == "attributes" || part == "guest-attributes" || part == "service-accounts")
      return true;
    if (slash == std::string_view::npos) break;
    dir.remove_prefix(slash + 1);
  }
  return false;
}

// network-interfaces/0/, 1/ ... are an array, in numeric order.
bool numberedDirs(std::vector<std::string>& children) {
  bool all = !children.empty() && std::all_of(children.begin(), children.end(), [](auto& c) {
    return c.ends_with('/') && isNumber(std::string_view(c).substr(0, c.size() - 1));
  });
  if (all) {
    std::sort(children.begin(), children.end(), [](const std::string& a, const std::string& b) {
      return std::stoull(a) < std::stoull(b);
    });
  }
  return all;
}

void flatten(const boost::json::value& v, const std::string& prefix, std::string& out) {
  if (v.is_array()) {
    const auto& a = v.as_array();
    for (std::size_t i = 0; i < a.size(); ++i) flatten(a[i], prefix + std::to_string(i) + "/", out);
    return;
  }
  std::string key = prefix.substr(0, prefix.size() - 1);
  out += key + " " + (v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v));
  out += "\n";
}

void subtreeText(const MetadataTree& tree, const std::string& dir, const std::string& shown,
                 std::string& out) {
  std::vector<std::string> children = gceVisibleChildren(tree, dir);
  numberedDirs(children);
  for (const std::string& c : children) {
    if (c.ends_with('/')) {
      subtreeText(tree, dir + c, shown + c, out);
    } else {
      flatten(gceJsonValue(dir + c, *tree.leaf(dir + c)), shown + c + "/", out);
    }
  }
}

}  // namespace

GceValueType gceValueType(std::string_view path) {
  std::string p(path);
  for (const TypeRule& rule : typeRules()) {
    if (std::regex_match(p, rule.path)) return rule.type;
  }
  return GceValueType::Text;
}

boost::json::value gceJsonValue(std::string_view path, const std::string& text) {
  switch (gceValueType(path)) {
    case GceValueType::Number:
      if (isNumber(text)) return boost::json::parse(text);  // keeps 64-bit ids exact
      break;
    case GceValueType::Lines: {
      boost::json::array a;
      for (const std::string& line : lines(text)) a.emplace_back(line);
      return a;
    }
    case GceValueType::Json: {
      boost::system::error_code ec;
      boost::json::value parsed = boost::json::parse(text, ec);
      if (!ec) return parsed;
      break;
    }
    case GceValueType::Text:
      break;
  }
  return boost::json::value(text);
}

std::string gceTextValue(std::string_view path, const std::string& text) {
  if (gceValueType(path) != GceValueType::Json) return text;
  boost::json::value v = gceJsonValue(path, text);
  if (!v.is_array()) return text;
  std::string out;
  for (const auto& item : v.as_array()) {
    if (!out.empty()) out += "\n";
    out += item.is_string() ? std::string(item.as_string()) : boost::json::serialize(item);
  }
  return out;
}

std::vector<std::string> gceVisibleChildren(const MetadataTree& tree, const std::string& dir) {
  std::vector<std::string> children = tree.children(dir);
  if (dir == "instance/") std::erase(children, std::string("guest-attributes/"));
  return children;
}

boost::json::value gceSubtreeJson(const MetadataTree& tree, const std::string& dir) {
  std::vector<std::string> children = gceVisibleChildren(tree, dir);
  if (numberedDirs(children)) {
    boost::json::array out;
    for (const std::string& c : children) out.push_back(gceSubtreeJson(tree, dir + c));
    return out;
  }
  bool keep = keepsNames(dir);
  boost::json::object out;
  for (const std::string& c : children) {
    bool isDir = c.ends_with('/');
    std::string name = isDir ? c.substr(0, c.size() - 1) : c;
    std::string key = keep ? name : camelCase(name);
    out[key] = isDir ? gceSubtreeJson(tree, dir + c) : gceJsonValue(dir + c, *tree.leaf(dir + c));
  }
  return out;
}

std::string gceSubtreeText(const MetadataTree& tree, const std::string& dir) {
  std::string out;
  subtreeText(tree, dir, "", out);
  return out;
}

}  // namespace guestpulse::fake
