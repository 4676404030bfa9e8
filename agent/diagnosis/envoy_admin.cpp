#include "agent/diagnosis/envoy_admin.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <vector>

namespace guestpulse {

namespace json = boost::json;

bool EnvoyVersion::olderThan(int ma, int mi, int pa) const {
  if (major != ma) return major < ma;
  if (minor != mi) return minor < mi;
  return patch < pa;
}

namespace {

// "<sha>/1.27.0/Clean/RELEASE/BoringSSL": the field after the first '/'.
std::optional<EnvoyVersion> versionField(std::string_view text) {
  for (std::size_t slash = text.find('/'); slash != std::string_view::npos;
       slash = text.find('/', slash + 1)) {
    std::string_view rest = text.substr(slash + 1);
    std::string_view field = rest.substr(0, rest.find_first_of("/ \t\r\n\""));
    EnvoyVersion v;
    int* parts[] = {&v.major, &v.minor, &v.patch};
    const char* p = field.data();
    const char* end = field.data() + field.size();
    bool ok = true;
    for (int i = 0; i < 3 && ok; ++i) {
      auto [next, ec] = std::from_chars(p, end, *parts[i]);
      ok = ec == std::errc() && next != p && (i == 2 || (next < end && *next == '.'));
      p = i < 2 ? next + 1 : next;
    }
    if (!ok || (p < end && *p != '-' && *p != '+')) continue;
    v.text = std::string(field);
    return v;
  }
  return std::nullopt;
}

std::string memberString(std::string_view body, std::string_view key) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) return {};
  const json::value* v = root.get_object().if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::optional<EnvoyVersion> parseEnvoyVersion(std::string_view body) {
  if (std::string version = memberString(body, "version"); !version.empty())
    return versionField(version);
  return versionField(body.substr(0, 4096));  // the text form of Envoy before 1.8
}

std::string serverInfoState(std::string_view body) { return memberString(body, "state"); }

// The SAX handler: follows the path of keys ("[]" for an array element) and counts what
// sits at the listener paths.
class ConfigDumpScanner::Parser {
 public:
  struct Handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    ConfigDumpListeners out;
    std::vector<std::string> path;  // keys of the open containers (deep ones left empty)
    std::vector<bool> isArray;
    std::string key;   // the key just read, for the value that follows
    std::string text;  // a string value being read, when it is one we keep
    bool keepText = false;

    // The key of the i-th container on the path, the value about to start being the last.
    std::string_view at(std::size_t i) const {
      return i < path.size() ? std::string_view(path[i]) : ownKey();
    }
    std::string_view ownKey() const {
      return !isArray.empty() && isArray.back() ? std::string_view("[]") : std::string_view(key);
    }
    // The value about to start sits at `rest` below configs[i] (or configs.<name> in 1.7):
    // its path is "", "configs", i, rest...
    bool below(std::initializer_list<std::string_view> rest) const {
      if (path.size() + 1 != rest.size() + 3 || at(1) != "configs") return false;
      std::size_t i = 3;
      for (std::string_view want : rest) {
        if (at(i++) != want) return false;
      }
      return true;
    }
    void open(bool array) {
      onContainer();
      path.push_back(path.size() < 8 ? std::string(ownKey()) : std::string());
      isArray.push_back(array);
      key.clear();
    }
    void close() {
      if (!path.empty()) path.pop_back();
      if (!isArray.empty()) isArray.pop_back();
      key.clear();
    }
    void onContainer() {
      if (below({"dynamic_listeners", "[]", "active_state"}) || below({"active_state"}) ||
          below({"dynamic_active_listeners", "[]"}))
        ++out.active;
      if (below({"dynamic_listeners", "[]", "warming_state"}) || below({"warming_state"}) ||
          below({"dynamic_warming_listeners", "[]"}))
        ++out.warming;
      if (below({"dynamic_listeners", "[]", "draining_state"}) || below({"draining_state"}) ||
          below({"dynamic_draining_listeners", "[]"}))
        ++out.draining;
      if (below({"dynamic_listeners", "[]", "error_state"}) || below({"error_state"}))
        ++out.rejected;
    }
    void scalarStart() {
      keepText = (out.firstActive.empty() &&
                  (below({"dynamic_listeners", "[]", "name"}) || below({"name"}) ||
                   below({"dynamic_active_listeners", "[]", "listener", "name"}))) ||
                 (out.firstError.empty() &&
                  (below({"dynamic_listeners", "[]", "error_state", "details"}) ||
                   below({"error_state", "details"})));
      text.clear();
    }
    void append(std::string_view s) {
      if (keepText && text.size() < 200) text.append(s.substr(0, 200 - text.size()));
    }
    void scalarEnd() {
      key.clear();
      if (!keepText) return;
      keepText = false;
      if (path.size() >= 2 && path.back() == "error_state") {
        if (out.firstError.empty()) out.firstError = text;
      } else if (out.active > 0 && out.firstActive.empty()) {
        out.firstActive = text;
      } else {
        pendingName = text;
      }
    }
    std::string pendingName;  // a listener's name read before its active_state

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
      const std::size_t before = out.active;
      open(false);
      if (out.active > before && out.firstActive.empty()) out.firstActive = pendingName;
      return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
      // A listener's name belongs to its own element of the list.
      if (isArray.size() >= 2 && isArray[isArray.size() - 2]) pendingName.clear();
      close();
      return true;
    }
    bool on_array_begin(boost::system::error_code&) {
      open(true);
      return true;
    }
    bool on_array_end(std::size_t, boost::system::error_code&) {
      close();
      return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
      if (key.size() < 64) key.append(s.data(), std::min<std::size_t>(s.size(), 64 - key.size()));
      return true;
    }
    bool on_key(json::string_view s, std::size_t n, boost::system::error_code& ec) {
      return on_key_part(s, n, ec);
    }
    bool on_string_part(json::string_view s, std::size_t n, boost::system::error_code&) {
      if (n == s.size()) scalarStart();  // the first part of this string
      append(std::string_view(s.data(), s.size()));
      return true;
    }
    bool on_string(json::string_view s, std::size_t n, boost::system::error_code& ec) {
      if (n == s.size()) scalarStart();
      append(std::string_view(s.data(), s.size()));
      scalarEnd();
      return true;
    }
    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return value(); }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return value(); }
    bool on_double(double, json::string_view, boost::system::error_code&) { return value(); }
    bool on_bool(bool, boost::system::error_code&) { return value(); }
    bool on_null(boost::system::error_code&) { return value(); }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }
    bool value() {
      key.clear();
      return true;
    }
  };

  Parser() : parser_(options()) {}

  static json::parse_options options() {
    json::parse_options o;
    o.max_depth = 256;
    return o;
  }

  bool feed(std::string_view piece) {
    Handler& h = parser_.handler();
    if (done()) return false;
    h.out.bytes += piece.size();
    boost::system::error_code ec;
    parser_.write_some(true, piece.data(), piece.size(), ec);
    if (ec) h.out.parseError = ec.message();
    if (parser_.done()) h.out.complete = true;
    return !done();
  }

  void finish() {
    Handler& h = parser_.handler();
    if (done()) return;
    boost::system::error_code ec;
    parser_.write_some(false, nullptr, 0, ec);
    if (ec)
      h.out.parseError = ec.message();
    else
      h.out.complete = true;
  }

  bool done() const {
    const ConfigDumpListeners& out = parser_.handler().out;
    return out.complete || !out.parseError.empty() || (out.active > 0 && !out.firstActive.empty());
  }

  const ConfigDumpListeners& result() const { return parser_.handler().out; }

 private:
  json::basic_parser<Handler> parser_;
};

ConfigDumpScanner::ConfigDumpScanner() : parser_(std::make_unique<Parser>()) {}
ConfigDumpScanner::~ConfigDumpScanner() = default;
bool ConfigDumpScanner::feed(std::string_view piece) { return parser_->feed(piece); }
void ConfigDumpScanner::finish() { parser_->finish(); }
const ConfigDumpListeners& ConfigDumpScanner::result() const { return parser_->result(); }

}  // namespace guestpulse
