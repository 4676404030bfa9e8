#!/usr/bin/env bash
# Installs what guestpulse needs to build and test on Debian 12. Idempotent: packages
# already present are left alone, and apt is only asked when something is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config clang-format
  libboost1.81-dev   # Asio, Beast, and JSON/URL compiled from their headers
  libssl-dev libspdlog-dev libyaml-cpp-dev libcli11-dev libsystemd-dev catch2
  # runtime tools used by the tests and the quick start
  curl openssl iproute2 iptables procps python3
  prometheus   # promtool: the metrics test validates the exposition with it
  # fuzzers: clang 15 with libFuzzer and the sanitizer runtimes (Debian 12 ships
  # compiler-rt for clang 15 in libclang-common-15-dev); GCC's own for the sanitizer
  # builds of the tests come with g++ (libasan8, libubsan1, libtsan2)
  clang-15 libclang-common-15-dev
  # the Linux packages (packaging/linux/build-packages.sh) and their tests
  dpkg-dev rpm lintian man-db file cpio
  debootstrap systemd-container   # install/upgrade/purge in a Debian root, booted with nspawn
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
