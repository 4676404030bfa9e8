#include <catch2/catch.hpp>

#include "platform/linux/environment_file.hpp"

using namespace guestpulse::platform;

TEST_CASE("/etc/environment: quoting, export, comments and junk", "[inspector][proxy]") {
  auto file = parseEnvironmentFile(
      "# /etc/environment\n"
      "PATH=\"/usr/local/sbin:/usr/bin\"\n"
      "http_proxy=http://proxy.corp:3128/\n"
      "export HTTPS_PROXY='http://proxy.corp:3128/'\n"
      "  no_proxy = localhost,169.254.169.254  \n"
      "garbage line\n"
      "=novalue\n");
  CHECK(file.at("PATH") == "/usr/local/sbin:/usr/bin");
  CHECK(file.at("http_proxy") == "http://proxy.corp:3128/");
  CHECK(file.at("HTTPS_PROXY") == "http://proxy.corp:3128/");
  CHECK(file.at("no_proxy") == "localhost,169.254.169.254");
  CHECK(file.size() == 4);
}
