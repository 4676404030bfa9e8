#pragma once
// What yaml-cpp 0.7 (Debian 12's) cannot be trusted with, checked before it builds a tree:
// nesting so deep that its recursion would overflow the stack, and a stream on which its
// document loop never ends. Both are config problems, never a crash or a hang.

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace guestpulse {

// A guestpulse config nests five levels at most; past these limits the file is refused
// with a problem naming the limit.
inline constexpr int kMaxYamlFlowDepth = 32;        // [ [ { ... } ] ]
inline constexpr std::size_t kMaxYamlIndent = 256;  // columns of block indentation

// A problem when `text` nests brackets deeper than kMaxYamlFlowDepth or indents past
// kMaxYamlIndent columns. Counts without parsing: quotes and comments are skipped.
std::optional<ConfigProblem> yamlNestingProblem(std::string_view text);

// How the stream splits into documents, read as parser events (no tree is built).
struct YamlDocuments {
  std::optional<int> secondLine;       // the line where a second document starts
  std::optional<ConfigProblem> stuck;  // a token no document can start with (",")
};
// Throws YAML::Exception on a syntax error the parser reports itself.
YamlDocuments scanYamlDocuments(const std::string& text);

}  // namespace guestpulse
