#pragma once
// /etc/environment as pam_env reads it, parsed without I/O: KEY=VALUE lines, '#'
// comments, an optional `export `, values optionally in single or double quotes. Lines
// without '=' are skipped. Never throws.

#include <string_view>

#include "platform/host_facts.hpp"

namespace guestpulse::platform {

EnvironmentMap parseEnvironmentFile(std::string_view text);

}  // namespace guestpulse::platform
