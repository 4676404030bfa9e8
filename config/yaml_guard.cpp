#include "config/yaml_guard.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <vector>

namespace guestpulse {

// yaml-cpp parses nested collections by recursion, one stack frame set per level; a
// hostile or broken file 100 000 levels deep would end the process instead of being a
// problem. Block indentation counts "- " too.
std::optional<ConfigProblem> yamlNestingProblem(std::string_view text) {
  int depth = 0, line = 1;
  char quote = 0;
  bool comment = false, lineStart = true;
  std::size_t indent = 0;
  for (char c : text) {
    if (c == '\n') {
      ++line;
      comment = false;
      lineStart = true;
      indent = 0;
      quote = 0;  // counting the brackets of a quote that spans lines errs on the safe side
      continue;
    }
    if (lineStart) {
      if (c == ' ' || c == '-' || c == '\t') {
        if (++indent > kMaxYamlIndent)
          return ConfigProblem{"", line,
                               "nested deeper than " + std::to_string(kMaxYamlIndent) +
                                   " columns of indentation; a guestpulse config "
                                   "nests five levels at most"};
        continue;
      }
      lineStart = false;
    }
    if (comment) continue;
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '#') {
      comment = true;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxYamlFlowDepth)
        return ConfigProblem{"", line,
                             "brackets nested deeper than " + std::to_string(kMaxYamlFlowDepth) +
                                 " levels; a guestpulse config nests five levels at most"};
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

namespace {

// Records where each document starts, and where its root node is; every other event is
// ignored.
struct DocumentStarts : YAML::EventHandler {
  std::vector<YAML::Mark> starts, roots;
  void node(const YAML::Mark& mark) {
    if (roots.size() < starts.size()) roots.push_back(mark);
  }
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}
};

// One document is a config and a second is a problem; a few more find the stuck parser
// behind a document separator ("a: 1\n---\n,").
constexpr std::size_t kMaxDocumentsScanned = 8;

}  // namespace

// yaml-cpp 0.7's LoadAll never ends on a token that cannot start a node (a file holding
// just ","): the parser reports an empty document without consuming the token, again and
// again, and LoadAll keeps every one until memory runs out (yaml-cpp issue 1040, fixed
// upstream after 0.7). Here a document that starts where the one before it started is
// that loop, and ends the scan; the config itself is then read with Load, which reads
// one document.
YamlDocuments scanYamlDocuments(const std::string& text) {
  YamlDocuments out;
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts seen;
  while (seen.starts.size() < kMaxDocumentsScanned && parser.HandleNextDocument(seen)) {
    const std::size_t n = seen.starts.size();
    if (n < 2 || seen.starts[n - 1].pos != seen.starts[n - 2].pos) continue;
    const YAML::Mark at = seen.starts[n - 1];
    const bool inText = at.pos >= 0 && static_cast<std::size_t>(at.pos) < text.size();
    std::string what = inText ? "'" + std::string(1, text[at.pos]) + "'" : "a token";
    out.stuck = ConfigProblem{"", at.line + 1,
                              "YAML syntax error: " + what + " cannot start a value (column " +
                                  std::to_string(at.column + 1) + ")"};
    return out;
  }
  if (seen.starts.size() > 1)
    out.secondLine = (seen.roots.size() > 1 ? seen.roots[1] : seen.starts[1]).line + 1;
  return out;
}

}  // namespace guestpulse
