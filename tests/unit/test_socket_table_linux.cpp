#include <catch2/catch.hpp>

#include "platform/linux/socket_table.hpp"

using namespace guestpulse::platform;

TEST_CASE("socket table: listeners and their owners from /proc/net/tcp", "[inspector][linux]") {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:3A98 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1337        "
      "0 4242 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 639 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:3A98 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1337        "
      "0 4243 1 0000000000000000 20 4 30 10 -1\n"
      "   3: garbage\n";
  auto sockets = parseListeningSockets(tcp, false);
  REQUIRE(sockets.size() == 2);  // the established connection and the garbage are left out
  CHECK(sockets[0].address == "127.0.0.1");
  CHECK(sockets[0].port == 15000);
  CHECK(sockets[0].uid == 1337);
  CHECK(sockets[1].address == "0.0.0.0");
  CHECK(sockets[1].port == 22);
  CHECK(sockets[1].uid == 0);

  const char* tcp6 =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:3A99 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000   101        0 77 1 0000000000000000 100 0 0 10 "
      "0\n";
  auto six = parseListeningSockets(tcp6, true);
  REQUIRE(six.size() == 1);
  CHECK(six[0].address == "::1");
  CHECK(six[0].port == 15001);
  CHECK(six[0].uid == 101);
  CHECK(parseListeningSockets("", false).empty());
}
