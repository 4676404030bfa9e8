#include "tests/fake_envoy/config_dumps.hpp"

#include <algorithm>

namespace guestpulse::fake {

namespace {

constexpr std::size_t kPiece = 64 * 1024;
constexpr std::size_t kEndlessCap = std::size_t(1) << 30;  // a bound on "endless"

const std::string kBootstrap =
    R"({"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {)"
    R"("node": {"id": "projects/123456789012/networks/default/nodes/4520031799277581759",)"
    R"( "cluster": "cluster"}, "admin": {"address": {"socket_address": {"address": "127.0.0.1",)"
    R"( "port_value": 15000}}}}})";
const std::string kClustersHead =
    R"({"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump", "version_info": "1",)"
    R"( "dynamic_active_clusters": [)";
const std::string kCluster =
    R"({"version_info": "1", "cluster": {"@type": "type.googleapis.com/envoy.config.cluster.v3.)"
    R"(Cluster", "name": "cloud-internal-istio:cloud_mp_123456789012_4520031799277581759",)"
    R"( "type": "EDS", "connect_timeout": "30s"}},)";
const std::string kLastCluster =
    R"({"version_info": "1", "cluster": {"name": "td-passthrough", "type": "ORIGINAL_DST"}})";

std::string listeners(const std::string& dynamic) {
  return R"({"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",)"
         R"( "version_info": "1", "dynamic_listeners": [)" +
         dynamic + "]}";
}

const std::string kActive =
    R"({"name": "td-interception", "active_state": {"version_info": "1", "listener": {)"
    R"("@type": "type.googleapis.com/envoy.config.listener.v3.Listener", "name":)"
    R"( "td-interception", "address": {"socket_address": {"address": "0.0.0.0",)"
    R"( "port_value": 15001}}}, "last_updated": "2026-11-22T21:00:00Z"}})";
const std::string kWarming =
    R"({"name": "td-interception", "warming_state": {"version_info": "1", "listener": {}},)"
    R"( "error_state": {"details": "Error adding/updating listener(s) td-interception: cannot)"
    R"( bind '0.0.0.0:15001': Address already in use", "last_update_attempt":)"
    R"( "2026-11-22T21:00:00Z"}})";

std::string hugeHead() { return R"({"configs": [)" + kBootstrap + ", " + kClustersHead; }

std::string dump(const std::string& dynamic) {
  return R"({"configs": [)" + kBootstrap + ", " + kClustersHead + kLastCluster + "]}, " +
         listeners(dynamic) + "]}\n";
}

}  // namespace

std::string serverInfoBody(const std::string& version, const std::string& state) {
  return R"({"version": "5d25f466c3410c0dfa735d7d4358beb76b2da507/)" + version +
         R"(/Clean/RELEASE/BoringSSL", "state": ")" + state +
         R"(", "hot_restart_version": "11.104", "command_line_options": {"base_id": "0",)"
         R"( "concurrency": 2}, "uptime_current_epoch": "3600s", "uptime_all_epochs": "3600s"})" +
         "\n";
}

DumpBody::DumpBody(ConfigDumpMode mode, std::size_t hugeBytes) : mode_(mode) {
  switch (mode) {
    case ConfigDumpMode::Configured:
    case ConfigDumpMode::Drip:
      whole_ = dump(kActive);
      break;
    case ConfigDumpMode::NoListeners:
      whole_ = dump("");
      break;
    case ConfigDumpMode::Warming:
      whole_ = dump(kWarming);
      break;
    case ConfigDumpMode::Garbage:
      whole_ = "<html><body><h1>envoy admin</h1></body></html>\n";
      break;
    case ConfigDumpMode::Huge: {
      clusters_ = std::max<std::size_t>(1, hugeBytes / kCluster.size());
      whole_ = kLastCluster + "]}, " + listeners(kActive) + "]}\n";
      length_ = hugeHead().size() + clusters_ * kCluster.size() + whole_.size();
      return;
    }
    case ConfigDumpMode::Endless:
    case ConfigDumpMode::Deep:
      return;  // chunked
  }
  length_ = whole_.size();
}

std::chrono::milliseconds DumpBody::pause() const {
  return mode_ == ConfigDumpMode::Drip ? std::chrono::milliseconds(50)
                                       : std::chrono::milliseconds(0);
}

std::string DumpBody::next() {
  std::string piece;
  switch (mode_) {
    case ConfigDumpMode::Drip:
      if (sent_ < whole_.size()) piece = whole_.substr(sent_, 1);
      break;
    case ConfigDumpMode::Huge:
      if (stage_ == 0) {
        piece = hugeHead();
        stage_ = 1;
      } else if (clusters_ > 0) {
        while (clusters_ > 0 && piece.size() + kCluster.size() <= kPiece) {
          piece += kCluster;
          --clusters_;
        }
      } else if (stage_ == 1) {
        piece = whole_;
        stage_ = 2;
      }
      break;
    case ConfigDumpMode::Endless:
      if (sent_ == 0) piece = R"({"configs": [)" + kClustersHead;
      while (sent_ < kEndlessCap && piece.size() + kCluster.size() <= kPiece) piece += kCluster;
      if (sent_ >= kEndlessCap) piece.clear();
      break;
    case ConfigDumpMode::Deep:
      if (sent_ < 1000000) piece.assign(std::min(kPiece, 1000000 - sent_), '[');
      break;
    default:
      if (sent_ == 0) piece = whole_;
  }
  sent_ += piece.size();
  return piece;
}

}  // namespace guestpulse::fake
