#pragma once
// Where the agent's own log goes on this OS (agent/core/logging.hpp writes every
// component logger to this sink). Linux: stderr, which systemd sends to the journal (with
// `<level>` prefixes the journal reads as priorities when JOURNAL_STREAM says stderr is
// connected to it; timestamps otherwise). Windows: stderr, and WARN and above also to the
// Application event log under the source `guestpulse`.

#include <spdlog/common.h>

namespace guestpulse::platform {

spdlog::sink_ptr makeLogSink();

}  // namespace guestpulse::platform
