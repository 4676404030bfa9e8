// Boost.JSON and Boost.URL compiled into the agent from their headers (the way both
// libraries document for header-only use), instead of linking Debian's prebuilt static
// archives: compiled here, with -ffunction-sections and LTO, only the parts the agent
// calls end up in the binary (the archives bring ~350 kB of code, most of it unused).
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
