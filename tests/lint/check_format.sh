#!/usr/bin/env bash
# Checks that every C++ source follows the repository's .clang-format (Google base, 100
# columns). Formatting differs between clang-format releases, so the check uses Debian 12's
# clang-format 14 and skips (exit 77, reason printed) with any other major version.
#   tests/lint/check_format.sh            check
#   tests/lint/check_format.sh --fix      reformat in place
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tool=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$tool" ]]; then
  echo "SKIP: clang-format is not installed (packaging/install-deps.sh installs it)"
  exit 77
fi
major=$("$tool" --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [[ "$major" != 14 ]]; then
  echo "SKIP: $tool is version $major; the tree is formatted with clang-format 14 (Debian 12)"
  exit 77
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp')
else
  mapfile -t files < <(find agent config platform tests -name '*.cpp' -o -name '*.hpp' | sort)
fi
if [[ "${1:-}" == --fix ]]; then
  "$tool" -i "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  [[ -f "$f" ]] || continue
  "$tool" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "clang-format: ${#bad[@]} of ${#files[@]} files differ from .clang-format:"
  printf '  %s\n' "${bad[@]}"
  echo "fix with: tests/lint/check_format.sh --fix"
  exit 1
fi
echo "clang-format: all ${#files[@]} files formatted"
