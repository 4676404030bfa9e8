#!/usr/bin/env bash
# Lists the DLLs a Windows executable imports and fails when one is not a Windows system DLL
# (the mingw runtime, OpenSSL and the other libraries must be linked in statically).
#   check_imports.sh OBJDUMP PROGRAM.exe
set -euo pipefail
objdump=$1 exe=$2
mapfile -t dlls < <("$objdump" -p "$exe" | sed -n 's/^[[:space:]]*DLL Name: //p')
((${#dlls[@]})) || { echo "no imports found in $exe"; exit 1; }
printf 'imports %s\n' "${dlls[@]}"
bad=()
for dll in "${dlls[@]}"; do
  [[ ${dll,,} == lib* ]] && bad+=("$dll")
done
if ((${#bad[@]})); then
  echo "FAIL: $exe needs non-system DLLs: ${bad[*]}"
  exit 1
fi
echo "$(stat -c %s "$exe") bytes, ${#dlls[@]} system DLLs"
