#pragma once
// How GCE's metadata server shapes values: every value is stored as the text its plain
// GET answers, and a few keys have a type that shows in ?alt=json and ?recursive=true
// (numbers for ids and MTUs, arrays for tags, scopes, aliases and DNS servers), as
// Google's clients (gcp-metadata parses every answer as JSON) expect. Also the recursive
// JSON and text forms of a directory, with GCE's lowerCamelCase JSON keys.

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fake_mds/metadata_store.hpp"

namespace guestpulse::fake {

enum class GceValueType {
  Text,    // a string
  Number,  // digits, shown as a JSON number ("instance/id")
  Lines,   // one item a line as text, a JSON array otherwise ("scopes")
  Json,    // JSON already, as text too ("instance/tags" is ["a","b"])
};
// The type of the value at `path` (relative to /computeMetadata/v1/).
GceValueType gceValueType(std::string_view path);

// The value at `path` as ?alt=json shows it.
boost::json::value gceJsonValue(std::string_view path, const std::string& text);
// The value at `path` as ?alt=text shows it: arrays one item a line.
std::string gceTextValue(std::string_view path, const std::string& text);

// The children of `dir` a listing shows. Guest attributes are a separate service in
// GCE: reachable by path, but not part of the instance/ listing or its recursive forms.
std::vector<std::string> gceVisibleChildren(const MetadataTree& tree, const std::string& dir);

// ?recursive=true: the subtree as JSON (typed values, lowerCamelCase keys except below
// attributes/ and guest-attributes/, numbered directories as arrays) ...
boost::json::value gceSubtreeJson(const MetadataTree& tree, const std::string& dir);
// ... and with alt=text: one "relative/path value" line per value, GCE's own key names,
// array items numbered ("0/device-name boot").
std::string gceSubtreeText(const MetadataTree& tree, const std::string& dir);

}  // namespace guestpulse::fake
